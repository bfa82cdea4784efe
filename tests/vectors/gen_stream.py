#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Known-answer vectors for lib/seal/stream.c (protocol.md section 5).

    /usr/bin/python3 tests/vectors/gen_stream.py

writes stream.json next to this script, built by tests/pswire.py (an
implementation independent of the C code).  The output is deterministic.

"seal" vectors: the worker's side.  upstream (hex) is the inference
server's SSE body; sealing it with the fixed secret, kid, nonce, reply
value and bucket must give wire (hex) exactly.  broken, when set, is the
code of the error the upstream ended with (the worker seals an error event
and then the final record).

"open" vectors: the client's side.  Feeding wire (hex) must give output
(hex): the content of each event, in order; result "ok" means the stream
ended normally, any other value is the code of the one error event the
client writes after output.

All vectors of a file share secret, kid and nonce; reply is per vector.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import pswire as w  # noqa: E402

SECRET = bytes(range(0x20, 0x40))
KID = bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0")
NONCE = bytes(range(0x10, 0x20))
REPLY_A = bytes(range(0x80, 0x90))
REPLY_B = bytes(range(0x90, 0xa0))

# The worker's own error event for a broken upstream: pserr_json() of
# lib/core/pserr.c, which is what protocol.md section 5 says it seals.
ERRORS = {
    "upstream_unavailable":
        b'{"error":{"message":"the next hop refused or broke the connection",'
        b'"type":"api_error","code":"upstream_unavailable"}}',
}


def chunk(i, text, extra=""):
    return ('data: {"id":"chatcmpl-1","object":"chat.completion.chunk",'
            '"created":1700000000,"model":"m","choices":[{"index":0,'
            '"delta":{%s"content":"%s"},"finish_reason":null}]}\n\n'
            % (extra, text)).encode()


BASIC = (chunk(0, "", '"role":"assistant",') + chunk(1, "Yes, it") +
         chunk(2, " is unsafe.") +
         b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk",'
         b'"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,'
         b'"total_tokens":7}}\n\n' + b"data: [DONE]\n\n")
OTHER = (chunk(0, "", '"role":"assistant",') + chunk(1, "No, it") +
         chunk(2, " is safe.") + b"data: [DONE]\n\n")

seal_vectors = []
open_vectors = []


def seal(comment, upstream, path=w.CHAT, bucket=256, reply=REPLY_A,
         broken=None):
    evs = w.split_events(upstream)
    if broken:
        evs.append(b"data: " + ERRORS[broken] + b"\n\n")
    out = [w.seal_event(SECRET, KID, NONCE, reply, path, i, e, bucket)
           for i, e in enumerate(evs)]
    out.append(w.final_record(SECRET, KID, NONCE, reply, len(evs), bucket))
    wire = b"".join(out)
    contents, _ = w.open_stream(SECRET, KID, NONCE, path, wire)
    assert contents == evs
    v = {"comment": comment, "path": path, "bucket": bucket,
         "reply": reply.hex(), "upstream": upstream.hex(), "wire": wire.hex(),
         "events": len(evs)}
    if broken:
        v["broken"] = broken
    seal_vectors.append(v)
    return wire, evs


def opened(comment, wire, result, path=w.CHAT):
    try:
        contents, _ = w.open_stream(SECRET, KID, NONCE, path, wire)
        got = "ok"
    except w.WireError as e:
        got = e.code
        contents = None
    assert got == result, (comment, got, result)
    open_vectors.append({"comment": comment, "path": path, "wire": wire.hex(),
                         "result": result})
    return contents


def expect_output(v, output):
    v["output"] = output.hex()


def open_case(comment, wire, result, output, path=w.CHAT):
    opened(comment, wire, result, path)
    expect_output(open_vectors[-1], output)


# ------------------------------------------------------------ seal

basic, basic_events = seal("a chat stream: role, two deltas, a usage-only "
                           "chunk, [DONE]", BASIC)
other, other_events = seal("another reply to the same request", OTHER,
                           reply=REPLY_B)
seal("event names, ids, comments and retry lines are sealed with their event",
     b": keep-alive\n\nevent: message\nid: 41\ndata: {\"id\":\"e\"}\n\n"
     b"retry: 1000\ndata: {\"usage\":null}\n\nid: 42\n\n")
seal("CR LF line ends", chunk(0, "a").replace(b"\n", b"\r\n") +
     b"data: [DONE]\r\n\r\n")
seal("CR line ends", chunk(0, "a").replace(b"\n", b"\r") + b"data: [DONE]\r\r")
seal("a JSON object over two data lines: plain members from the joined data",
     b'data: {"id":"x",\ndata: "usage":{"total_tokens":1}}\n\n')
seal("data that is not JSON: no plain members",
     b"data: hello\ndata: world\n\ndata\n\n")
seal("data with two members of one name: no plain members",
     b'data: {"id":"a","id":"b"}\n\n')
seal("a data line without the space, and an allowlisted name escaped",
     b'data:{"\\u0069d":"z","x":1}\n\n')
seal("empty lines before an event make no event",
     b"\n\r\n\n" + chunk(0, "a") + b"\n\n" + b"data: [DONE]\n\n")
seal("a last event without its empty line is dropped",
     chunk(0, "a") + b"data: [DONE]\n")
seal("no event at all", b"")
seal("no padding", BASIC, bucket=0)
seal("1 KiB buckets", BASIC, bucket=1024)
seal("completions stream", b'data: {"id":"cmpl-1","choices":[{"text":"t"}]}\n\n'
     b"data: [DONE]\n\n", path=w.COMPLETIONS)
seal("the inference server broke off: an error event, then the final record",
     chunk(0, "a") + chunk(1, "b"), broken="upstream_unavailable")

# Revision 2.1: typed streams.  The event: lines are sealed inside their
# events, the sequence_number too; nothing is plain (the type is the
# event's name), and there is no [DONE]: the final record ends them.
RESP_STREAM = (
    b'event: response.created\ndata: {"type":"response.created",'
    b'"sequence_number":0,"response":{"id":"resp_1","status":"in_progress"}}'
    b'\n\n'
    b'event: response.output_text.delta\ndata: {"type":'
    b'"response.output_text.delta","sequence_number":1,"delta":"Hi"}\n\n'
    b'event: response.completed\ndata: {"type":"response.completed",'
    b'"sequence_number":2,"response":{"id":"resp_1","status":"completed",'
    b'"usage":{"total_tokens":2}}}\n\n')
resp_wire, resp_events = seal("a Responses typed stream: event names sealed, "
                              "no plain member, no [DONE]", RESP_STREAM,
                              path=w.RESPONSES)
seal("an Anthropic Messages typed stream: usage of message_delta plain",
     b'event: message_start\ndata: {"type":"message_start","message":'
     b'{"id":"msg_1","usage":{"input_tokens":1}}}\n\n'
     b'event: content_block_delta\ndata: {"type":"content_block_delta",'
     b'"index":0,"delta":{"type":"text_delta","text":"Hi"}}\n\n'
     b'event: message_delta\ndata: {"type":"message_delta","delta":'
     b'{"stop_reason":"end_turn"},"usage":{"output_tokens":1}}\n\n'
     b'event: message_stop\ndata: {"type":"message_stop"}\n\n',
     path=w.MESSAGES)

# ------------------------------------------------------------ open

ev = [e + b"\n\n" for e in basic.split(b"\n\n") if e]
alt = [e + b"\n\n" for e in other.split(b"\n\n") if e]
allout = b"".join(basic_events)


def out(n):
    return b"".join(basic_events[:n])


open_case("the stream as sealed", basic, "ok", allout)
open_case("CR LF between the proxies", basic.replace(b"\n", b"\r\n"), "ok",
          allout)
open_case("no space after data:", basic.replace(b"data: ", b"data:"), "ok",
          allout)
open_case("input after the final record is ignored",
          basic + b"data: {\"x\":1}\n\nevent: x\n\n", "ok", allout)
open_case("no event at all", w.final_record(SECRET, KID, NONCE, REPLY_A, 0),
          "ok", b"")
open_case("an event dropped", ev[0] + b"".join(ev[2:]), "decrypt_failed",
          out(1))
open_case("two events swapped", ev[0] + ev[2] + ev[1] + b"".join(ev[3:]),
          "decrypt_failed", out(1))
flipped = bytearray(ev[2])
flipped[120] ^= 1
open_case("one byte of an event changed", b"".join(ev[:2]) + bytes(flipped) +
          b"".join(ev[3:]), "decrypt_failed", out(2))
open_case("a plain member of an event changed",
          ev[0] + ev[1].replace(b'"chatcmpl-1"', b'"chatcmpl-2"') +
          b"".join(ev[2:]), "decrypt_failed", out(1))
open_case("a plain member of an event deleted",
          ev[0] + ev[1].replace(b'"id":"chatcmpl-1",', b"") + b"".join(ev[2:]),
          "decrypt_failed", out(1))
open_case("a member added to an event",
          ev[0] + ev[1].replace(b'{"id"', b'{"choices":[],"id"') +
          b"".join(ev[2:]), "decrypt_failed", out(1))
open_case("usage of the usage-only chunk changed",
          b"".join(ev[:3]) + ev[3].replace(b'"total_tokens":7',
                                            b'"total_tokens":1') +
          b"".join(ev[4:]), "decrypt_failed", out(3))
open_case("the envelope removed from an event",
          ev[0] + b'data: {"id":"chatcmpl-1"}\n\n' + b"".join(ev[2:]),
          "decrypt_failed", out(1))
for label, line in (("event:", b"event: message\n"), ("id:", b"id: 7\n"),
                    ("a comment", b": hello\n"), ("retry:", b"retry: 5\n")):
    open_case("an injected %s line" % label, ev[0] + line + b"".join(ev[1:]),
              "decrypt_failed", out(1))
open_case("an injected plain data event",
          ev[0] + b'data: {"choices":[{"delta":{"content":"!"}}]}\n\n' +
          b"".join(ev[1:]), "decrypt_failed", out(1))
open_case("two data lines in one event", ev[0] + ev[1][:-1] + ev[2] +
          b"".join(ev[3:]), "decrypt_failed", out(1))
open_case("an empty event", ev[0] + b"\n" + b"".join(ev[1:]), "decrypt_failed",
          out(1))
open_case("events of two replies to one request spliced",
          b"".join(ev[:2]) + b"".join(alt[2:]), "decrypt_failed", out(2))
open_case("the final record of the other reply",
          b"".join(ev[:-1]) + w.final_record(SECRET, KID, NONCE, REPLY_B,
                                              len(basic_events)),
          "stream_truncated", allout)
open_case("the final record dropped", b"".join(ev[:-1]), "stream_truncated",
          allout)
open_case("the last event and the final record dropped", b"".join(ev[:-2]),
          "stream_truncated", out(len(basic_events) - 1))
open_case("a final record with a wrong count",
          b"".join(ev[:-1]) +
          b"data: " + w.seal_envelope(SECRET, w.R, KID, NONCE, REPLY_A,
                                      len(basic_events), True,
                                      w.ctx_reply(200, "text/event-stream"),
                                      w.u32(len(basic_events) - 1), 256) +
          b"\n\n", "stream_truncated", allout)
open_case("a final record after a dropped event",
          b"".join(ev[:2]) + b"".join(ev[3:-1]) +
          w.final_record(SECRET, KID, NONCE, REPLY_A, len(basic_events) - 1),
          "decrypt_failed", out(2))
open_case("cut inside the final record", basic[:-30], "stream_truncated",
          allout)
open_case("cut inside an event line", b"".join(ev[:2]) + ev[2][:50],
          "stream_truncated", out(2))
open_case("a version 1 event",
          b'data: {"id":"x","choices":"ps1:0f1e2d3c4b5a69788796a5b4c3d2e1f0:'
          b'EBESExQVFhcYGRobHB0eHw:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA"}'
          b"\n\n", "bad_upstream_response", b"")
open_case("an event sealed for another status",
          w.seal_event(SECRET, KID, NONCE, REPLY_A, w.CHAT, 0, basic_events[0],
                       status=201), "decrypt_failed", b"")
open_case("a stream opened for another endpoint's allowlist", basic,
          "decrypt_failed", b"", path=w.EMBEDDINGS)
_rev = [e + b"\n\n" for e in resp_wire.split(b"\n\n") if e]
open_case("a typed stream without its final record", b"".join(_rev[:-1]),
          "stream_truncated", b"".join(resp_events))
open_case("a typed stream without its last event (response.completed)",
          b"".join(_rev[:-2] + _rev[-1:]), "stream_truncated",
          b"".join(resp_events[:-1]))
open_case("a typed stream with an event name flipped in its envelope",
          b"".join(_rev[:1] + [_rev[1][:110] + (b"A" if _rev[1][110:111] != b"A"
                                               else b"B") + _rev[1][111:]]
                   + _rev[2:]), "decrypt_failed", resp_events[0])


def main():
    out_ = {
        "comment": "generated by gen_stream.py from tests/pswire.py; do not "
                   "edit",
        "secret": SECRET.hex(),
        "kid": KID.hex(),
        "nonce": NONCE.hex(),
        "seal": seal_vectors,
        "open": open_vectors,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "stream.json")
    with open(path, "w") as f:
        json.dump(out_, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

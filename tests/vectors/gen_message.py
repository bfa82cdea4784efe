#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Known-answer vectors for lib/seal/message.c (protocol.md section 4).

    /usr/bin/python3 tests/vectors/gen_message.py

writes message.json next to this script, built by tests/pswire.py (an
implementation independent of the C code) from a fixed secret, kid,
nonce, reply value and timestamp.  The output is deterministic.

Each vector:
  comment    what it shows
  kind       "request" or "reply"
  path       the endpoint; method, status, media: the receiver's ctx
  ts, query  (requests) the sealed timestamp and query (hex)
  bucket     the sender's padding bucket
  original   (hex) the body the sender seals, when the vector is sealed
  wire       (hex) the wire form: the sender's output, the receiver's input
             (for a bodyless request the Promptseal-Request header value)
  seal       "ok": sealing original must give wire exactly; or the code the
             sender refuses original with; absent: not a sealing vector
  open       "ok": opening wire gives original back (and ts, query); or
             the code the receiver refuses wire with
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import pswire as w  # noqa: E402

SECRET = bytes(range(0x40, 0x60))
OTHER_SECRET = bytes(range(0x60, 0x80))
KID = bytes.fromhex("00112233445566778899aabbccddeeff")
NONCE = bytes(range(0xa0, 0xb0))
OTHER_NONCE = bytes(range(0xb0, 0xc0))
REPLY = bytes(range(0xc0, 0xd0))
OTHER_REPLY = bytes(range(0xd0, 0xe0))
TS = 1700000000

CHAT_REQ = (b'{"model":"gpt-4o-mini","messages":[{"role":"system","content":'
            b'"Be brief."},{"role":"user","content":"Hello, world!"}],'
            b'"stream":false,"stream_options":{"include_usage":true},'
            b'"temperature":0.2,"max_tokens":64,"max_completion_tokens":128,'
            b'"n":1,"user":"u-1","tools":[],"response_format":{"type":"text"}}')
CHAT_REPLY = (b'{"id":"chatcmpl-123","object":"chat.completion","created":'
              b'1700000000,"model":"gpt-4o-mini","choices":[{"index":0,'
              b'"message":{"role":"assistant","content":"Hi!"},'
              b'"finish_reason":"stop"}],"usage":{"prompt_tokens":9,'
              b'"completion_tokens":2,"total_tokens":11}}')

vectors = []


def add(comment, kind, path, wire, original=None, seal=None, open_="ok",
        ts=TS, query=b"", bucket=0, status=200, media="application/json",
        method=None):
    v = {"comment": comment, "kind": kind, "path": path,
         "method": method or w.METHOD[w.endpoint_of(path)], "bucket": bucket,
         "wire": wire.hex(), "open": open_}
    if kind == "request":
        v["ts"] = ts
        v["query"] = query.hex()
    else:
        v["status"] = status
        v["media"] = media
    if original is not None:
        v["original"] = original.hex()
    if seal is not None:
        v["seal"] = seal
    # The reference must agree with what the vector says.
    try:
        if kind == "request":
            got = w.open_request(SECRET, path, wire, method=v["method"])
            assert open_ == "ok", (comment, "opens")
            assert got[:3] == (ts, query, original or b""), comment
        else:
            got = w.open_reply(SECRET, KID, NONCE, path, status, wire, media)
            assert open_ == "ok", (comment, "opens")
            assert got == original, comment
    except w.WireError as e:
        assert e.code == open_, (comment, e.code, open_)
    vectors.append(v)


def req(comment, path, body, query=b"", bucket=0, ts=TS, method=None):
    wire = w.seal_request(SECRET, KID, NONCE, path, body, ts, query, bucket,
                          method=method)
    add(comment, "request", path, wire, body, "ok", "ok", ts, query, bucket,
        method=method)
    return wire


def rep(comment, path, body, status=200, bucket=0):
    wire = w.seal_reply(SECRET, KID, NONCE, REPLY, path, status, body, bucket)
    add(comment, "reply", path, wire, body, "ok", "ok", bucket=bucket,
        status=status)
    return wire


def sealed_request(content, path=w.CHAT, secret=SECRET, method=None,
                   prefix=None):
    """A wire request around an envelope of content as it is given."""
    env = w.seal_envelope(secret, w.Q, KID, NONCE, None, 0, False,
                          w.ctx_request(method or w.METHOD[w.endpoint_of(path)],
                                        path), content)
    return (prefix if prefix is not None else b"{") + b'"ps2":"' + env + b'"}'


def refused(comment, kind, path, wire, code, **kw):
    add(comment, kind, path, wire, None, None, code, **kw)


def seal_refused(comment, path, body, code):
    vectors.append({"comment": comment, "kind": "request", "path": path,
                    "method": w.METHOD[w.endpoint_of(path)], "bucket": 0,
                    "ts": TS,
                    "query": "", "original": body.hex(), "seal": code})


# ------------------------------------------------------------ sealed right

chat = req("chat request: allowlisted members copied, all sealed", w.CHAT,
           CHAT_REQ)
req("chat request with a query string", w.CHAT,
    b'{"model":"m","messages":[]}', query=b"api-version=2024-06-01&x=%20y")
req("whitespace in the original: plain tokens copied without it, the "
    "original sealed as it is", w.CHAT,
    b' \r\n{ "model" :\t"m" ,\n"messages" : [ 1 , 2 ] ,"n":\n3 }\t ')
req("escaped names: compared unescaped, copied as sent", w.CHAT,
    b'{"mod\\u0065l":"m","m\\u00e9ssages":"x","\\ud83d\\ude00":1,'
    b'"max_tokens":5}')
req("no plain member at all", w.CHAT, b'{"messages":[{"role":"user"}]}')
req("the empty object", w.CHAT, b"{}")
req("non-ASCII text", w.CHAT,
    '{"model":"caf\u00e9","messages":"Gr\u00fc\u00dfe \u65e5\u672c '
    '\U0001F510"}'.encode())
req("completions request", w.COMPLETIONS,
    b'{"model":"gpt-3.5-turbo-instruct","prompt":"Say this is a test",'
    b'"max_tokens":7,"n":2,"stream":true,"stream_options":null,'
    b'"max_completion_tokens":3,"temperature":0}')
req("embeddings request", w.EMBEDDINGS,
    b'{"model":"text-embedding-3-small","input":["a","b"],'
    b'"encoding_format":"float","n":1}')
req("padded to 64-byte buckets", w.CHAT, b'{"model":"m","messages":"hi"}',
    bucket=64)
req("padded, 4 KiB bucket", w.CHAT, b'{"messages":"x"}', bucket=4096)
models = req("bodyless request: the envelope alone", w.MODELS, b"")
req("bodyless request with a query", w.MODELS, b"", query=b"limit=5")
req("the largest query", w.CHAT, b"{}", query=b"q" * w.QUERY_MAX)
req("timestamp zero", w.CHAT, b"{}", ts=0)
req("timestamp at the top of u64", w.CHAT, b"{}", ts=(1 << 64) - 1)

reply = rep("chat reply: id and usage copied", w.CHAT, CHAT_REPLY)
rep("completions reply", w.COMPLETIONS,
    b'{"id":"cmpl-1","object":"text_completion","choices":[{"text":"t",'
    b'"index":0}],"usage":{"total_tokens":12}}')
rep("embeddings reply: usage only", w.EMBEDDINGS,
    b'{"object":"list","data":[{"embedding":[0.1,-2e-5]}],"model":"e",'
    b'"id":"not plain here","usage":{"prompt_tokens":8,"total_tokens":8}}')
rep("models reply: nothing plain", w.MODELS,
    b'{"object":"list","data":[{"id":"test-model","object":"model"}]}')
rep("an error of the inference server, status 429", w.CHAT,
    b'{"error":{"message":"slow down","type":"rate","code":"x"}}', status=429)
rep("reply padded to 128 bytes", w.CHAT, b'{"id":"a","choices":[]}',
    bucket=128)

# ------------------------------------------------------------ tampered

def swap(wire, a, b):
    return wire.replace(a, b"\0").replace(b, a).replace(b"\0", b)


refused("a plain member deleted", "request", w.CHAT,
        chat.replace(b'"model":"gpt-4o-mini",', b""), "decrypt_failed")
refused("a plain member added", "request", w.CHAT,
        chat.replace(b'{"model"', b'{"n":2,"model"'), "decrypt_failed")
refused("a member added that would be sealed", "request", w.CHAT,
        chat.replace(b'{"model"', b'{"temperature":2,"model"'),
        "decrypt_failed")
refused("two plain members swapped", "request", w.CHAT,
        chat.replace(b'"model":"gpt-4o-mini","stream":false',
                     b'"stream":false,"model":"gpt-4o-mini"'), "decrypt_failed")
refused("model changed", "request", w.CHAT,
        chat.replace(b'"gpt-4o-mini"', b'"gpt-4o-nano"'), "decrypt_failed")
refused("n changed", "request", w.CHAT,
        chat.replace(b'"n":1', b'"n":9'), "decrypt_failed")
refused("max_tokens changed", "request", w.CHAT,
        chat.replace(b'"max_tokens":64', b'"max_tokens":640'), "decrypt_failed")
refused("whitespace added between members", "request", w.CHAT,
        chat.replace(b'","stream"', b'", "stream"'), "decrypt_failed")
refused("a byte after the wire", "request", w.CHAT, chat + b"\n",
        "invalid_envelope")
refused("one byte of the envelope changed", "request", w.CHAT,
        chat[:-40] + (b"B" if chat[-40:-39] == b"A" else b"A") + chat[-39:],
        "decrypt_failed")
refused("chat request re-routed to /v1/completions", "request",
        w.COMPLETIONS, chat, "decrypt_failed")
refused("chat request sent with another method", "request", w.CHAT, chat,
        "decrypt_failed", method="PUT")
refused("bodyless request re-routed", "request", w.CHAT,
        b'{"ps2":"' + models + b'"}', "decrypt_failed")
refused("sealed under another secret with the same kid", "request", w.CHAT,
        w.seal_request(OTHER_SECRET, KID, NONCE, w.CHAT, b"{}", TS),
        "decrypt_failed")
refused("no envelope, a member that must be sealed", "request", w.CHAT,
        b'{"model":"m","messages":[]}', "plaintext_member")
refused("no envelope, plain members only", "request", w.CHAT,
        b'{"model":"m","n":1}', "invalid_envelope")
refused("a version 1 body", "request", w.CHAT,
        b'{"model":"m","messages":"ps1:00112233445566778899aabbccddeeff:'
        b'oKGio6SlpqeoqaqrrK2urw:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA"}',
        "unsupported_version")
refused("not JSON", "request", w.CHAT, b'{"ps2":"x"', "invalid_json")
refused("an array", "request", w.CHAT, b'["ps2"]', "invalid_json")
refused("envelope not the last member", "request", w.CHAT,
        b'{"ps2":"' + w.locate_envelope(chat)[1] + b'","model":"gpt-4o-mini"}',
        "invalid_envelope")
refused("envelope that is not a string", "request", w.CHAT,
        b'{"model":"m","ps2":1}', "invalid_envelope")
refused("envelope under an escaped name", "request", w.CHAT,
        b'{"ps\\u0032":"' + w.locate_envelope(chat)[1] + b'"}',
        "invalid_envelope")
refused("malformed envelope", "request", w.CHAT, b'{"ps2":"ps2:zz"}',
        "invalid_envelope")
refused("a reply envelope in a request", "request", w.CHAT,
        b'{"ps2":"' + w.locate_envelope(reply)[1] + b'"}', "invalid_envelope")
refused("sealed original that is not a JSON object", "request", w.CHAT,
        sealed_request(w.request_content(TS, b"", b"[1]")), "decrypt_failed")
refused("sealed original with two members of one name", "request", w.CHAT,
        sealed_request(w.request_content(TS, b"", b'{"a":1,"\\u0061":2}')),
        "decrypt_failed")
refused("sealed original with a member named ps2", "request", w.CHAT,
        sealed_request(w.request_content(TS, b"", b'{"ps2":"x"}')),
        "decrypt_failed")
refused("sealed request content too short for ts and qlen", "request",
        w.CHAT, sealed_request(b"\0" * 9), "decrypt_failed")
refused("sealed query length past the content", "request", w.CHAT,
        sealed_request(w.u64(TS) + w.u16(5) + b"abc"), "decrypt_failed")
refused("sealed query with a space", "request", w.CHAT,
        sealed_request(w.request_content(TS, b"a b", b"{}")), "invalid_query")
refused("bodyless request with a body sealed in it", "request", w.MODELS,
        w.seal_envelope(SECRET, w.Q, KID, NONCE, None, 0, False,
                        w.ctx_request("GET", w.MODELS),
                        w.request_content(TS, b"", b"{}")), "decrypt_failed")

refused("reply status relabelled", "reply", w.CHAT, reply, "decrypt_failed",
        status=201)
refused("reply served as text/html", "reply", w.CHAT, reply, "decrypt_failed",
        media="text/html")
refused("reply usage changed", "reply", w.CHAT,
        reply.replace(b'"prompt_tokens":9', b'"prompt_tokens":1'),
        "decrypt_failed")
refused("reply id deleted", "reply", w.CHAT,
        reply.replace(b'"id":"chatcmpl-123",', b""), "decrypt_failed")
refused("a reply to another request (nonce)", "reply", w.CHAT,
        w.seal_reply(SECRET, KID, OTHER_NONCE, REPLY, w.CHAT, 200, b"{}"),
        "invalid_envelope")
refused("a request reflected as the reply", "reply", w.CHAT, chat,
        "invalid_envelope")
refused("a version 1 reply", "reply", w.CHAT,
        b'{"id":"x","choices":"ps1:00112233445566778899aabbccddeeff:'
        b'oKGio6SlpqeoqaqrrK2urw:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA"}',
        "unsupported_version")
refused("a forged plain reply", "reply", w.CHAT,
        b'{"id":"x","choices":[{"message":{"content":"FORGED"}}]}',
        "plaintext_member")

# ------------------------------------------------------------ revision 2.1

RESP_REQ = (b'{"model":"m-1","input":[{"role":"user","content":"Hi"}],'
            b'"instructions":"Be brief.","stream":true,'
            b'"max_output_tokens":64,"previous_response_id":"resp_0",'
            b'"tools":[],"temperature":0.5}')
req("responses request: model, stream, max_output_tokens plain", w.RESPONSES,
    RESP_REQ)
rep("responses reply: id and usage plain", w.RESPONSES,
    b'{"id":"resp_1","object":"response","status":"completed","model":"m-1",'
    b'"output":[{"type":"message","content":[{"type":"output_text",'
    b'"text":"Hi!"}]}],"usage":{"input_tokens":1,"output_tokens":1}}')
req("messages request: model, stream, max_tokens plain", w.MESSAGES,
    b'{"model":"claude-x","max_tokens":100,"system":"Be brief.",'
    b'"messages":[{"role":"user","content":"Hi"}],"stream":false,'
    b'"tools":[{"name":"get","input_schema":{}}],"metadata":{"user_id":"u"}}')
rep("messages reply: id and usage plain", w.MESSAGES,
    b'{"id":"msg_1","type":"message","role":"assistant","content":[{"type":'
    b'"text","text":"Hi!"}],"model":"claude-x","stop_reason":"end_turn",'
    b'"usage":{"input_tokens":1,"output_tokens":1}}')
req("count_tokens request: model plain", w.COUNT_TOKENS,
    b'{"model":"claude-x","messages":[{"role":"user","content":"Hi"}]}')
rep("count_tokens reply: sealed whole", w.COUNT_TOKENS, b'{"input_tokens":3}')
for p_ in ("/v1/rerank", "/rerank", "/v2/rerank"):
    req("rerank request under " + p_ + ": model plain", p_,
        b'{"model":"r","query":"q?","documents":["a","b"],"top_n":1}')
rep("rerank reply: usage plain", "/rerank",
    b'{"id":"rerank-1","model":"r","usage":{"total_tokens":3},"results":[]}')
req("score request: model plain", w.SCORE,
    b'{"model":"r","text_1":"a","text_2":["b","c"]}')
rep("score reply: usage plain", w.SCORE,
    b'{"id":"score-1","data":[{"score":0.5}],"usage":{"total_tokens":3}}')
req("tokenize request: model plain", w.TOKENIZE,
    b'{"model":"m","prompt":"secret"}')
rep("tokenize reply: sealed whole", w.TOKENIZE,
    b'{"count":1,"max_model_len":8,"tokens":[115]}')
req("detokenize request: model plain", w.DETOKENIZE,
    b'{"model":"m","tokens":[115]}')

RID = "/v1/responses/resp_0123abcd"
get_rid = req("bodyless GET with a path id and a sealed query", RID, b"",
              query=b"include=message.output_text.logprobs&stream=true")
del_rid = req("bodyless DELETE of one response", RID, b"", method="DELETE")
items = req("bodyless input_items with its query", RID + "/input_items", b"",
            query=b"after=msg_1&limit=2")
req("bodyless POST: cancel", RID + "/cancel", b"")
model_id = req("model id with an encoded /, bound as sent",
               "/v1/models/org%2Fmodel-7b", b"")
rep("a retrieved response: sealed whole", RID,
    b'{"id":"resp_0123abcd","object":"response","usage":{"total_tokens":1}}')
refused("a path id header moved to another id", "request",
        "/v1/responses/resp_0123abce", get_rid, "decrypt_failed")
refused("a GET's header sent with DELETE", "request", RID, get_rid,
        "decrypt_failed", method="DELETE")
refused("a DELETE's header sent with GET", "request", RID, del_rid,
        "decrypt_failed")
refused("an input_items header sent to the response itself", "request", RID,
        items, "decrypt_failed")
refused("a model id header opened as the decoded id", "request",
        "/v1/models/org%2fmodel-7b", model_id, "decrypt_failed")
refused("a rerank request moved to another alias", "request", "/v2/rerank",
        w.seal_request(SECRET, KID, NONCE, "/rerank",
                       b'{"model":"r","query":"q","documents":[]}', TS),
        "decrypt_failed")
refused("a responses request with its input in clear", "request", w.RESPONSES,
        b'{"model":"m","input":"secret"}', "plaintext_member")

# ------------------------------------------------------------ not sealed

seal_refused("not an object", w.CHAT, b"[]", "invalid_json")
seal_refused("two members of one name", w.CHAT, b'{"a":1,"\\u0061":2}',
             "invalid_json")
seal_refused("a member named ps2", w.CHAT, b'{"ps2":"x"}', "invalid_json")
seal_refused("trailing bytes", w.CHAT, b'{"a":1}x', "invalid_json")


def main():
    out = {
        "comment": "generated by gen_message.py from tests/pswire.py; do not "
                   "edit",
        "secret": SECRET.hex(),
        "kid": KID.hex(),
        "nonce": NONCE.hex(),
        "reply": REPLY.hex(),
        "vectors": vectors,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "message.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Known-answer vectors for lib/seal/multipart.c (protocol.md section 4,
"Multipart bodies").

    /usr/bin/python3 tests/vectors/gen_multipart.py

writes multipart.json next to this script, built by tests/pswire.py from
a fixed secret, kid, nonce, reply value and timestamp.  Deterministic.

Each vector has a kind:
  "form"     ct, body (hex): what the strict parser says of a request
             body: check "ok" (then plain: the wire prefix, hex) or the
             code it refuses it with
  "request"  path, ts, query, ct, body (hex, the original), bucket, wire
             (hex): seal "ok" (sealing gives wire exactly) or a code or
             absent; open "ok" (opening wire gives ts, query, ct, body
             back) or the code the worker refuses wire with
  "text"     status, media, body (hex), wire (hex), open "ok" or a code:
             a reply that is not JSON, sealed whole
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import pswire as w  # noqa: E402

SECRET = bytes(range(0x40, 0x60))
KID = bytes.fromhex("00112233445566778899aabbccddeeff")
NONCE = bytes(range(0xa0, 0xb0))
REPLY = bytes(range(0xc0, 0xd0))
TS = 1700000000
T = w.TRANSCRIPTIONS
B = b"----formdata-undici-0123456789"
CT = b"multipart/form-data; boundary=" + B
AUDIO = bytes((i * 151 + 7) & 0xff for i in range(300))


def body(*parts):
    return w.multipart_body(list(parts), B)


FILE = (b"file", AUDIO, b"voice memo.wav", b"audio/wav")
MODEL = (b"model", b"whisper-1", None, None)
GOOD = body(FILE, MODEL, (b"language", b"de", None, None),
            (b"stream", b"true", None, None))
vectors = []


def form(comment, ct, b, code="ok", path=T):
    v = {"comment": comment, "kind": "form", "path": path, "ct": ct.hex(),
         "body": b.hex(), "check": code}
    try:
        plain = w.multipart_prefix(path, ct, b)
        assert code == "ok", (comment, "accepted")
        v["plain"] = plain.hex()
    except w.WireError as e:
        assert e.code == code, (comment, e.code, str(e))
    vectors.append(v)


def request(comment, wire, ct=CT, b=GOOD, seal=None, open_="ok", query=b"",
            bucket=0, path=T):
    v = {"comment": comment, "kind": "request", "path": path, "ts": TS,
         "query": query.hex(), "ct": ct.hex(), "body": b.hex(),
         "bucket": bucket, "wire": wire.hex(), "open": open_}
    if seal is not None:
        v["seal"] = seal
    try:
        got = w.open_multipart_request(SECRET, path, wire)
        assert open_ == "ok", (comment, "opens")
        assert got[:4] == (TS, query, ct, b), comment
    except w.WireError as e:
        assert e.code == open_, (comment, e.code, str(e))
    vectors.append(v)


def text(comment, wire, b, status=200, media="text/plain", open_="ok"):
    v = {"comment": comment, "kind": "text", "status": status, "media": media,
         "body": b.hex(), "wire": wire.hex(), "open": open_}
    try:
        got = w.open_text_reply(SECRET, KID, NONCE, status, wire, media)
        assert open_ == "ok" and got == b, comment
    except w.WireError as e:
        assert e.code == open_, (comment, e.code, str(e))
    vectors.append(v)


def seal(b=GOOD, ct=CT, query=b"", bucket=0, path=T):
    return w.seal_multipart_request(SECRET, KID, NONCE, path, ct, b, ts=TS,
                                    query=query, bucket=bucket)


# --- the parser: accepted forms
form("the SDK's shape: file, model, language, stream", CT, GOOD)
form("curl's shape: quoted boundary, no CRLF after the close delimiter",
     b'multipart/form-data; boundary="' + B + b'"', GOOD[:-2])
form("media type and parameter name in any case, spaces around ;",
     b"Multipart/Form-Data ;  BOUNDARY=" + B, GOOD)
form("a boundary with the characters RFC 2046 allows, a space inside",
     b"multipart/form-data; boundary=\"a'()+_,-./:=? z\"",
     w.multipart_body([FILE, MODEL], b"a'()+_,-./:=? z"))
form("a 70-byte boundary", b"multipart/form-data; boundary=" + b"b" * 70,
     w.multipart_body([FILE], b"b" * 70))
form("an empty part, headers in any case, parameters in any order", CT,
     b"--" + B + b"\r\ncontent-type: text/plain\r\nCONTENT-DISPOSITION: "
     b"Form-Data;filename=\"\";  name=\"x\"\r\n\r\n\r\n--" + B + b"--")
form("a backslash is a byte like others in a quoted name", CT,
     body(FILE, (b"a\\", b"v", None, None)))
form("plain values escaped as one JSON string", CT,
     body((b"model", b'q"b\\s\x01\x1f\x7f\xc3\xbc', None, None), FILE))
form("the file's name may hold anything but a quote", CT,
     body((b"file", AUDIO, "ü \\ ; = x.wav".encode(), None), MODEL))
form("translations: model and stream plain too", CT, GOOD, path=w.TRANSLATIONS)
form("256 parts", CT, body(*[(b"f%d" % i, b"", None, None) for i in range(256)]))
form("a part header section of exactly 8192 bytes", CT,
     body((b"f", b"v", None, b"x" * (8192 - 60))))
form("content that holds the boundary not after CRLF", CT,
     body((b"f", b"x--" + B + b"\r\n", None, None)))
form("content that starts with the boundary: the empty line's CRLF makes a "
     "delimiter", CT, body((b"f", b"--" + B + b"\r\n", None, None)),
     "invalid_multipart")

# --- the parser: refusals
form("not multipart: 415", b"application/json", GOOD, "unsupported_media_type")
form("multipart/mixed: 415", b"multipart/mixed; boundary=" + B, GOOD,
     "unsupported_media_type")
form("no boundary", b"multipart/form-data", GOOD, "invalid_multipart")
form("an empty boundary", b"multipart/form-data; boundary=", GOOD,
     "invalid_multipart")
form("two boundaries", CT + b"; boundary=x", GOOD, "invalid_multipart")
form("another parameter", CT + b"; charset=utf-8", GOOD, "invalid_multipart")
form("a 71-byte boundary", b"multipart/form-data; boundary=" + b"b" * 71,
     w.multipart_body([FILE], b"b" * 71), "invalid_multipart")
form("a boundary ending in a space", b'multipart/form-data; boundary="ab "',
     w.multipart_body([FILE], b"ab "), "invalid_multipart")
form("a boundary byte RFC 2046 does not allow",
     b'multipart/form-data; boundary="a;b"', w.multipart_body([FILE], b"a;b"),
     "invalid_multipart")
form("an unclosed quote", b'multipart/form-data; boundary="' + B, GOOD,
     "invalid_multipart")
form("a content type over 256 bytes",
     b"multipart/form-data; boundary=" + b"b" * 70 + b" " * 160,
     w.multipart_body([FILE], b"b" * 70), "invalid_multipart")
form("a control byte in the content type", CT + b"\x01", GOOD,
     "invalid_multipart")
form("a preamble", CT, b"hello\r\n" + GOOD, "invalid_multipart")
form("padding after the first delimiter", CT,
     GOOD.replace(B + b"\r\n", B + b" \r\n", 1), "invalid_multipart")
form("LF line ends", CT, GOOD.replace(b"\r\n", b"\n"), "invalid_multipart")
form("a bare LF in a header line", CT,
     GOOD.replace(b"Content-Type: audio/wav", b"Content-Type: audio/\nwav"),
     "invalid_multipart")
form("no close delimiter", CT, GOOD[:-len(B) - 6], "invalid_multipart")
form("cut in the middle", CT, GOOD[:200], "invalid_multipart")
form("an epilogue", CT, GOOD + b"bye", "invalid_multipart")
form("two CRLF after the close delimiter", CT, GOOD + b"\r\n",
     "invalid_multipart")
form("no parts: the close delimiter first", CT, b"--" + B + b"--\r\n",
     "invalid_multipart")
form("an empty body", CT, b"", "invalid_multipart")
form("a delimiter followed by something else", CT,
     body((b"f", b"a\r\n--" + B + b"x", None, None)), "invalid_multipart")
form("a part without content: the empty line's CRLF taken for a delimiter's",
     CT, b"--" + B + b"\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n--"
     + B + b"--", "invalid_multipart")
form("no empty line after the headers", CT,
     b"--" + B + b"\r\nContent-Disposition: form-data; name=\"a\"\r\n--" + B +
     b"--", "invalid_multipart")
form("no Content-Disposition", CT,
     GOOD.replace(b'Content-Disposition: form-data; name="model"', b"X-A: b"),
     "invalid_multipart")
form("two Content-Disposition", CT, GOOD.replace(
     b'name="model"\r\n', b'name="model"\r\nContent-Disposition: form-data; '
     b'name="model"\r\n'), "invalid_multipart")
form("two Content-Type", CT, GOOD.replace(
     b"Content-Type: audio/wav", b"Content-Type: audio/wav\r\nContent-Type: a/b"),
     "invalid_multipart")
form("another part header", CT, GOOD.replace(
     b"Content-Type: audio/wav", b"Content-Transfer-Encoding: binary"),
     "invalid_multipart")
form("a header line without a colon", CT, GOOD.replace(
     b"Content-Type: audio/wav", b"Content-Type audio/wav"), "invalid_multipart")
form("a space before the colon", CT, GOOD.replace(
     b"Content-Type: audio/wav", b"Content-Type : audio/wav"), "invalid_multipart")
form("not form-data", CT, GOOD.replace(b"form-data; name=\"model\"",
     b"attachment; name=\"model\""), "invalid_multipart")
form("no name", CT, GOOD.replace(b'form-data; name="model"', b"form-data"),
     "invalid_multipart")
form("an empty name", CT, GOOD.replace(b'name="model"', b'name=""'),
     "invalid_multipart")
form("an unquoted name", CT, GOOD.replace(b'name="model"', b"name=model"),
     "invalid_multipart")
form("filename* (RFC 7578 section 4.2)", CT,
     GOOD.replace(b'; filename="', b'; filename*="'), "invalid_multipart")
form("two names", CT, GOOD.replace(b'name="model"', b'name="model"; name="x"'),
     "invalid_multipart")
form("another disposition parameter", CT,
     GOOD.replace(b'name="model"', b'name="model"; size="3"'),
     "invalid_multipart")
form("an unclosed quote in a name", CT, GOOD.replace(b'name="model"',
     b'name="model'), "invalid_multipart")
form("garbage after a parameter", CT, GOOD.replace(b'name="model"',
     b'name="model"x'), "invalid_multipart")
form("a plain field twice", CT, body(FILE, MODEL, MODEL), "invalid_multipart")
form("stream twice", CT, body(FILE, (b"stream", b"true", None, None),
     (b"stream", b"false", None, None)), "invalid_multipart")
form("a plain field that is a file", CT,
     body(FILE, (b"model", b"whisper-1", b"m.txt", None)), "invalid_multipart")
form("a plain field with an empty filename is a file too", CT,
     body(FILE, (b"model", b"whisper-1", b"", None)), "invalid_multipart")
form("a plain field that is not UTF-8", CT,
     body(FILE, (b"model", b"\xc0\xaf", None, None)), "invalid_multipart")
form("a plain field with a UTF-16 surrogate", CT,
     body(FILE, (b"model", b"\xed\xa0\x80", None, None)), "invalid_multipart")
form("257 parts", CT,
     body(*[(b"f%d" % i, b"", None, None) for i in range(257)]),
     "invalid_multipart")
form("a part header section of 8193 bytes", CT,
     body((b"f", b"v", None, b"x" * (8193 - 60))), "invalid_multipart")
# A sealed field twice is the user's business: sealed, it reaches the
# inference server exactly as sent.
form("a sealed field twice is accepted", CT,
     body(FILE, MODEL, (b"timestamp_granularities[]", b"word", None, None),
          (b"timestamp_granularities[]", b"segment", None, None)))

# --- requests
request("a transcription: model and stream copied, all sealed", seal(),
        seal="ok")
request("with a query, padded to 64", seal(query=b"a=1&b=2", bucket=64),
        query=b"a=1&b=2", bucket=64, seal="ok")
NOPLAIN = body(FILE, (b"prompt", b"secret words", None, None))
request("no plain field: only the envelope", seal(NOPLAIN), b=NOPLAIN,
        seal="ok")
ESC = body((b"model", b'q"b\\s\x01\xc3\xbc', None, None), FILE)
request("an escaped plain value", seal(ESC), b=ESC, seal="ok")
request("translations", seal(path=w.TRANSLATIONS), path=w.TRANSLATIONS,
        seal="ok")
good = seal()
request("sealing refuses a form the parser refuses",
        b"", b=GOOD + b"x", seal="invalid_multipart", open_="invalid_json")
request("sealing refuses another media type", b"", ct=b"text/plain",
        seal="unsupported_media_type", open_="invalid_json")
request("a plain copy changed", good.replace(b'"whisper-1"', b'"whisper-2"'),
        open_="decrypt_failed")
request("a plain copy removed", good.replace(b'"model":"whisper-1",', b""),
        open_="decrypt_failed")
request("a field added on the wire",
        b'{"language":"en",' + good[1:], open_="decrypt_failed")
request("plain copies reordered",
        good.replace(b'"model":"whisper-1","stream":"true",',
                     b'"stream":"true","model":"whisper-1",'),
        open_="decrypt_failed")
request("a plain copy written as JSON true",
        good.replace(b'"stream":"true"', b'"stream":true'),
        open_="decrypt_failed")
request("a plain copy escaped differently",
        good.replace(b'"whisper-1"', b'"whisper\\u002d1"'),
        open_="decrypt_failed")
k = good.index(b"ps2:") + 120
request("a byte of the envelope changed",
        good[:k] + (b"A" if good[k:k + 1] != b"A" else b"B") + good[k + 1:],
        open_="decrypt_failed")
request("sealed for the other endpoint", seal(path=w.TRANSLATIONS),
        open_="decrypt_failed")
request("no envelope, only plain fields", b'{"model":"whisper-1"}',
        open_="invalid_envelope")
request("no envelope, a sealed field in clear",
        b'{"model":"whisper-1","prompt":"p"}', open_="plaintext_member")
request("not JSON", GOOD, open_="invalid_json")


def sealed_content(content, path=T):
    env = w.seal_envelope(SECRET, w.Q, KID, NONCE, None, 0, False,
                          w.ctx_request("POST", path), content, 0)
    return b'{"ps2":"' + env + b'"}'


request("a sealed content that is not a form",
        sealed_content(w.multipart_content(TS, b"", CT, b"not a form")),
        open_="decrypt_failed")
request("a sealed content without its content type length",
        sealed_content(w.request_content(TS, b"", b"\x00")),
        open_="decrypt_failed")
request("a sealed content type length past the end",
        sealed_content(w.request_content(TS, b"", b"\x00\x09ab")),
        open_="decrypt_failed")
request("a sealed query the client would refuse",
        sealed_content(w.multipart_content(TS, b"a b", CT, GOOD)),
        open_="invalid_query")
request("a sealed query the client would refuse, no content type length",
        sealed_content(w.request_content(TS, b"a b", b"\x00")),
        open_="invalid_query")
request("a sealed content type that is not multipart",
        sealed_content(w.multipart_content(TS, b"", b"application/json",
                                           NOPLAIN)),
        open_="decrypt_failed")

# --- text replies
TEXT = b"1\n00:00:00,000 --> 00:00:01,000\nhello\n\n"
tw = w.seal_text_reply(SECRET, KID, NONCE, REPLY, 200, TEXT)
text("an srt reply, sealed whole", tw, TEXT)
text("an empty text reply", w.seal_text_reply(SECRET, KID, NONCE, REPLY, 200,
                                              b""), b"")
text("an error status bound too", w.seal_text_reply(
    SECRET, KID, NONCE, REPLY, 400, b"bad"), b"bad", status=400)
text("relabelled as application/json", tw, TEXT, media="application/json",
     open_="decrypt_failed")
text("another status", tw, TEXT, status=201, open_="decrypt_failed")
text("a plain member added", b'{"usage":1,' + tw[1:], TEXT,
     open_="decrypt_failed")
text("no envelope", b'{"text":"hello"}', TEXT, open_="invalid_envelope")

out = {"comment": "generated by gen_multipart.py from tests/pswire.py; "
       "do not edit", "secret": SECRET.hex(), "kid": KID.hex(),
       "nonce": NONCE.hex(), "reply": REPLY.hex(), "vectors": vectors}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "multipart.json"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print("%d vectors" % len(vectors))

# SPDX-License-Identifier: ISC
"""pswire: the promptseal wire format, version 2 (docs/protocol.md sections
2-5), written from the specification with Python's cryptography package
(Debian python3-cryptography) and nothing of the C code.

It is the one Python reference of the wire format: the known-answer
vector generators (tests/vectors/gen_*.py) and the end-to-end tests
(tests/e2e/) use it to build and check what crosses between the proxies.
Every function works on bytes; a failure raises WireError with the
protocol.md section 6 code the C receiver must give for it.
"""

import base64
import json
import os
import re
import struct
import time

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

Q, R = 0x51, 0x52
SALT = b"promptseal v2"
ZERO16 = bytes(16)
QUERY_MAX = 4096
TAG_LEN = 16

CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
EMBEDDINGS = "/v1/embeddings"
MODELS = "/v1/models"

TRANSCRIPTIONS = "/v1/audio/transcriptions"
TRANSLATIONS = "/v1/audio/translations"

METHOD = {CHAT: "POST", COMPLETIONS: "POST", EMBEDDINGS: "POST", MODELS: "GET",
          TRANSCRIPTIONS: "POST", TRANSLATIONS: "POST"}
BODYLESS = {MODELS}
# multipart/form-data requests (protocol.md section 4, "Multipart bodies").
MULTIPART = {TRANSCRIPTIONS, TRANSLATIONS}
MULTIPART_PARTS = 256       # lib/core/caps.h PS_CAP_MULTIPART_PARTS
MULTIPART_HEADER = 8192     # PS_CAP_MULTIPART_HEADER
MULTIPART_CTYPE = 256       # PS_CAP_MULTIPART_CTYPE

# protocol.md section 4: the members that stay plain.
PLAIN = {
    (CHAT, Q): {"model", "stream", "stream_options", "max_tokens",
                "max_completion_tokens", "n"},
    (COMPLETIONS, Q): {"model", "stream", "stream_options", "max_tokens", "n"},
    (EMBEDDINGS, Q): {"model"},
    (MODELS, Q): set(),
    (CHAT, R): {"id", "usage"},
    (COMPLETIONS, R): {"id", "usage"},
    (EMBEDDINGS, R): {"usage"},
    (MODELS, R): set(),
    (TRANSCRIPTIONS, Q): {"model", "stream"},
    (TRANSLATIONS, Q): {"model", "stream"},
    (TRANSCRIPTIONS, R): {"usage"},
    (TRANSLATIONS, R): {"usage"},
}


class WireError(Exception):
    """A message refused; .code is the protocol.md section 6 code."""

    def __init__(self, code, why=""):
        super().__init__("%s%s" % (code, ": " + why if why else ""))
        self.code = code


# ------------------------------------------------------------ encodings

_B64U = re.compile(rb"\A[A-Za-z0-9_-]*\Z")


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    """Strict base64url without padding: alphabet, length, zero tail bits."""
    if isinstance(s, str):
        s = s.encode()
    if not _B64U.match(s) or len(s) % 4 == 1:
        raise WireError("invalid_envelope", "base64url")
    raw = base64.urlsafe_b64decode(s + b"=" * (-len(s) % 4))
    if b64u(raw).encode() != s:
        raise WireError("invalid_envelope", "non-canonical base64url")
    return raw


def u16(n):
    return struct.pack(">H", n)


def u32(n):
    return struct.pack(">I", n)


def u64(n):
    return struct.pack(">Q", n)


# ------------------------------------------------------------ section 3

def derive(secret, direction, kid, nonce, reply=None):
    """K for one direction of one exchange."""
    info = bytes([direction]) + kid + nonce + (reply if direction == R else ZERO16)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT,
                info=info).derive(secret)


def iv(msg, final):
    return bytes([1 if final else 0]) + bytes(7) + u32(msg)


def ctx_request(method, path):
    return method.encode() + b"\0" + path.encode()


def ctx_reply(status, media):
    return u16(status) + media.encode()


def media_type(content_type):
    """The media type a client binds: before any ';', blanks trimmed,
    lowercased."""
    return content_type.split(";", 1)[0].strip(" \t").lower()


def aad(direction, kid, nonce, reply, msg, final, ctx):
    return (b"ps2\0" + bytes([direction]) + kid + nonce +
            (reply if direction == R else ZERO16) + u32(msg) +
            (b"\1" if final else b"\0") + ctx)


# ------------------------------------------------------------ section 2

def pad(content, bucket):
    n = len(content)
    p = 4 + n
    if bucket > 1:
        p = -(-p // bucket) * bucket
    return u32(n) + content + bytes(p - 4 - n)


def unpad(pt):
    if len(pt) < 4:
        raise WireError("decrypt_failed", "plaintext too short")
    n = struct.unpack(">I", pt[:4])[0]
    if n > len(pt) - 4 or any(pt[4 + n:]):
        raise WireError("decrypt_failed", "bad padding")
    return pt[4:4 + n]


def envelope_text(direction, kid, nonce, reply, ct):
    parts = ["ps2", kid.hex(), b64u(nonce)]
    if direction == R:
        parts.append(b64u(reply))
    parts.append(b64u(ct))
    return ":".join(parts).encode()


def parse_envelope(text, direction):
    """(kid, nonce, reply or None, ct) of envelope text (bytes)."""
    if isinstance(text, str):
        text = text.encode()
    parts = text.split(b":")
    want = 5 if direction == R else 4
    if len(parts) != want or parts[0] != b"ps2":
        raise WireError("invalid_envelope", "form")
    kid_hex = parts[1]
    if not re.match(rb"\A[0-9a-f]{32}\Z", kid_hex):
        raise WireError("invalid_envelope", "kid")
    if len(parts[2]) != 22:
        raise WireError("invalid_envelope", "nonce")
    nonce = unb64u(parts[2])
    reply = None
    if direction == R:
        if len(parts[3]) != 22:
            raise WireError("invalid_envelope", "reply")
        reply = unb64u(parts[3])
    ct = unb64u(parts[-1])
    if len(ct) < TAG_LEN + 4:
        raise WireError("invalid_envelope", "ciphertext too short")
    return bytes.fromhex(kid_hex.decode()), nonce, reply, ct


def seal_envelope(secret, direction, kid, nonce, reply, msg, final, ctx,
                  content, bucket=0):
    key = derive(secret, direction, kid, nonce, reply)
    ct = AESGCM(key).encrypt(iv(msg, final), pad(content, bucket),
                             aad(direction, kid, nonce, reply, msg, final, ctx))
    return envelope_text(direction, kid, nonce, reply, ct)


def open_envelope(secret, direction, msg, final, ctx, text, kid=None,
                  nonce=None, reply=None):
    """The content of envelope text; kid, nonce, reply when given must
    match.  Returns (content, kid, nonce, reply)."""
    k, n, r, ct = parse_envelope(text, direction)
    if (kid is not None and k != kid) or (nonce is not None and n != nonce) or \
            (reply is not None and r != reply):
        raise WireError("invalid_envelope", "another exchange")
    key = derive(secret, direction, k, n, r)
    try:
        pt = AESGCM(key).decrypt(iv(msg, final), ct,
                                 aad(direction, k, n, r, msg, final, ctx))
    except InvalidTag:
        raise WireError("decrypt_failed", "tag")
    return unpad(pt), k, n, r


# ------------------------------------------------------------ section 4

_WS = " \t\r\n"


def _strict_constant(name):
    raise ValueError("not JSON: " + name)


_DECODER = json.JSONDecoder(parse_constant=_strict_constant)


def members(original):
    """The top-level members of an original body as a list of
    (name, raw name token bytes, raw value token bytes).  Raises
    WireError("invalid_json") for anything that is not an original body
    (protocol.md section 4): not one JSON object, duplicate names, a member
    named ps2."""
    try:
        s = original.decode("utf-8") if isinstance(original, bytes) else original
        i = 0
        while i < len(s) and s[i] in _WS:
            i += 1
        if i >= len(s) or s[i] != "{":
            raise ValueError("not an object")
        i += 1
        out, seen, first = [], set(), True
        while True:
            while i < len(s) and s[i] in _WS:
                i += 1
            if i < len(s) and s[i] == "}" and first:
                i += 1
                break
            if i >= len(s) or s[i] != '"':
                raise ValueError("name expected")
            name, j = json.decoder.scanstring(s, i + 1, True)
            raw_name = s[i:j]
            i = j
            while i < len(s) and s[i] in _WS:
                i += 1
            if i >= len(s) or s[i] != ":":
                raise ValueError("colon expected")
            i += 1
            while i < len(s) and s[i] in _WS:
                i += 1
            _, j = _DECODER.raw_decode(s, i)
            raw_value = s[i:j]
            i = j
            if name in seen:
                raise ValueError("duplicate member")
            if name == "ps2":
                raise ValueError("member named ps2")
            seen.add(name)
            name.encode("utf-8")        # no lone surrogates
            out.append((name, raw_name.encode(), raw_value.encode()))
            first = False
            while i < len(s) and s[i] in _WS:
                i += 1
            if i < len(s) and s[i] == ",":
                i += 1
                continue
            if i < len(s) and s[i] == "}":
                i += 1
                break
            raise ValueError("comma or brace expected")
        while i < len(s) and s[i] in _WS:
            i += 1
        if i != len(s):
            raise ValueError("trailing bytes")
        return out
    except (ValueError, UnicodeError) as e:
        raise WireError("invalid_json", str(e))


def wire_prefix(path, direction, original):
    """The wire form up to and including the opening quote of the
    envelope, from an original body (bytes), or from none (None)."""
    plain = PLAIN[(path, direction)]
    ms = members(original) if original is not None else []
    kept = [rn + b":" + rv for name, rn, rv in ms if name in plain]
    return b"{" + b",".join(kept) + (b"," if kept else b"") + b'"ps2":"'


def wire_form(path, direction, original, envelope):
    return wire_prefix(path, direction, original) + envelope + b'"}'


def locate_envelope(wire):
    """(prefix, envelope text) of a wire body, or WireError with the code
    protocol.md section 4 gives when no envelope can be located."""
    if wire.endswith(b'"}'):
        j = wire.rfind(b'"', 0, len(wire) - 2)
        if j >= 6 and wire[j - 6:j + 1] == b'"ps2":"':
            return wire[:j + 1], wire[j + 1:len(wire) - 2]
    raise WireError(_no_envelope_code(wire), "no envelope")


def _no_envelope_code(wire, path=None, direction=Q):
    try:
        d = json.loads(wire.decode("utf-8"), parse_constant=_strict_constant)
    except (ValueError, UnicodeError):
        return "invalid_json"
    if not isinstance(d, dict):
        return "invalid_json"
    if "ps2" in d:
        return "invalid_envelope"
    if any(isinstance(v, str) and v.startswith("ps1:") for v in d.values()):
        return "unsupported_version"
    if path is not None and any(k not in PLAIN[(path, direction)] for k in d):
        return "plaintext_member"
    return "invalid_envelope"


def no_envelope_code(path, direction, wire):
    """The code for a wire body without an envelope."""
    return _no_envelope_code(wire, path, direction)


# Requests ------------------------------------------------------------

def request_content(ts, query, body):
    if isinstance(query, str):
        query = query.encode()
    return u64(ts) + u16(len(query)) + query + body


def split_request(content):
    if len(content) < 10:
        raise WireError("decrypt_failed", "short request content")
    ts = struct.unpack(">Q", content[:8])[0]
    qlen = struct.unpack(">H", content[8:10])[0]
    if 10 + qlen > len(content):
        raise WireError("decrypt_failed", "query length")
    query = content[10:10 + qlen]
    check_query(query, "invalid_query")
    return ts, query, content[10 + qlen:]


def check_query(query, code="invalid_query"):
    if len(query) > QUERY_MAX:
        raise WireError("query_too_long")
    if any(b < 0x21 or b > 0x7e or b == 0x23 for b in query):
        raise WireError(code)


def seal_request(secret, kid, nonce, path, body, ts=None, query=b"",
                 bucket=0, method=None):
    """The wire body of a request (or, for a bodyless endpoint, the
    Promptseal-Request header value), sealed for path."""
    if ts is None:
        ts = int(time.time())
    if isinstance(query, str):
        query = query.encode()
    if path in BODYLESS:
        body = b""
    else:
        members(body)
    env = seal_envelope(secret, Q, kid, nonce, None, 0, False,
                        ctx_request(method or METHOD[path], path),
                        request_content(ts, query, body), bucket)
    if path in BODYLESS:
        return env
    return wire_form(path, Q, body, env)


def open_request(secret, path, wire, method=None):
    """(ts, query, body, kid, nonce) of a request as the worker opens it."""
    ctx = ctx_request(method or METHOD[path], path)
    if path in BODYLESS:
        content, kid, nonce, _ = open_envelope(secret, Q, 0, False, ctx, wire)
        ts, query, body = split_request(content)
        if body:
            raise WireError("decrypt_failed", "bodyless request with a body")
        return ts, query, body, kid, nonce
    try:
        prefix, env = locate_envelope(wire)
    except WireError:
        raise WireError(no_envelope_code(path, Q, wire))
    content, kid, nonce, _ = open_envelope(secret, Q, 0, False, ctx, env)
    ts, query, body = split_request(content)
    try:
        expect = wire_prefix(path, Q, body)
    except WireError:
        raise WireError("decrypt_failed", "original is not a body")
    if expect != prefix:
        raise WireError("decrypt_failed", "wire form differs")
    return ts, query, body, kid, nonce


# Multipart requests --------------------------------------------------
# Written from protocol.md section 4, "Multipart bodies", without looking
# at lib/seal/multipart.c: a second reading of the same rules.

_TCHAR = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BCHARS = re.compile(rb"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")


def multipart_body(parts, boundary):
    """A form: parts are (name, value, filename or None, content type or
    None), all bytes; the body as the SDKs write it."""
    out = b""
    for name, value, filename, ctype in parts:
        out += b"--" + boundary + b"\r\n"
        out += b'Content-Disposition: form-data; name="' + name + b'"'
        if filename is not None:
            out += b'; filename="' + filename + b'"'
        out += b"\r\n"
        if ctype is not None:
            out += b"Content-Type: " + ctype + b"\r\n"
        out += b"\r\n" + value + b"\r\n"
    return out + b"--" + boundary + b"--\r\n"


def _params(rest, what):
    """[(name lowercased, value)] of '; name=value' parameters."""
    out = []
    rest = rest.strip(b" \t")
    while rest:
        m = re.match(rb'[ \t]*;[ \t]*(' + _TCHAR.pattern + rb')=', rest)
        if not m:
            raise WireError("invalid_multipart", what)
        name, rest = m.group(1).lower(), rest[m.end():]
        if rest.startswith(b'"'):
            k = rest.find(b'"', 1)
            if k < 0:
                raise WireError("invalid_multipart", what + ": open quote")
            out.append((name, rest[1:k], True))
            rest = rest[k + 1:]
        else:
            m = _TCHAR.match(rest)
            out.append((name, m.group(0) if m else b"", False))
            rest = rest[m.end() if m else 0:]
        rest = rest.lstrip(b" \t")
    return out


def multipart_boundary(ct):
    """The boundary of a Content-Type (bytes)."""
    m = re.match(rb"[ \t]*([^; \t]*)", ct)
    if m.group(1).lower() != b"multipart/form-data":
        raise WireError("unsupported_media_type")
    if len(ct) > MULTIPART_CTYPE or re.search(rb"[^\x20-\x7e\t]", ct):
        raise WireError("invalid_multipart", "content type bytes")
    ps = _params(ct[m.end():], "content type")
    if len(ps) != 1 or ps[0][0] != b"boundary":
        raise WireError("invalid_multipart", "parameters")
    b = ps[0][1]
    if not _BCHARS.fullmatch(b):
        raise WireError("invalid_multipart", "boundary")
    return b


def multipart_parts(ct, body):
    """[(name, filename or None, value)] of a body the strict subset
    accepts; WireError("invalid_multipart") for anything else."""
    def bad(why):
        raise WireError("invalid_multipart", why)
    b = multipart_boundary(ct)
    delim = b"\r\n--" + b
    if not body.startswith(b"--" + b + b"\r\n"):
        bad("first delimiter")
    pos, parts = len(b) + 4, []
    while True:
        if len(parts) == MULTIPART_PARTS:
            bad("too many parts")
        end = body.find(b"\r\n\r\n", pos - 2)
        if end < 0:
            bad("no empty line")
        # The header section may be empty only if... it may not: a
        # Content-Disposition is required.
        head = body[pos:end + 2] if end >= pos else b""
        if end + 4 - pos > MULTIPART_HEADER:
            bad("header section too long")
        d = body.find(delim, end + 2)
        if d < 0:
            bad("no delimiter after the part")
        if d < end + 4:
            bad("a delimiter in the empty line")
        value = body[end + 4:d]
        name = filename = None
        seen = set()
        for line in head.split(b"\r\n")[:-1]:
            m = re.fullmatch(rb"(" + _TCHAR.pattern + rb"):[ \t]*(.*?)[ \t]*",
                             line, re.S)
            if not m or re.search(rb"[\x00-\x08\x0a-\x1f\x7f]", m.group(2)):
                bad("header line")
            hn = m.group(1).lower()
            if hn not in (b"content-disposition", b"content-type") or hn in seen:
                bad("header")
            seen.add(hn)
            if hn == b"content-disposition":
                v = m.group(2)
                t = _TCHAR.match(v)
                if not t or t.group(0).lower() != b"form-data":
                    bad("not form-data")
                ps = _params(v[t.end():], "disposition")
                names = [p[0] for p in ps]
                if (not all(q for _, _, q in ps) or len(set(names)) != len(names)
                        or not set(names) <= {b"name", b"filename"}
                        or b"name" not in names):
                    bad("disposition parameters")
                for pn, pv, _ in ps:
                    if pn == b"name":
                        name = pv
                    else:
                        filename = pv
                if not name:
                    bad("empty name")
        if b"content-disposition" not in seen:
            bad("no disposition")
        parts.append((name, filename, value))
        after = body[d + len(delim):]
        if after in (b"--", b"--\r\n"):
            return parts
        if not after.startswith(b"\r\n") or after.startswith(b"--"):
            bad("after a delimiter")
        pos = d + len(delim) + 2


def json_string(v):
    """The one escaping of a plain field value in the wire form."""
    out = b'"'
    for c in v:
        if c < 0x20:
            out += b"\\u%04x" % c
        elif c in (0x22, 0x5c):
            out += b"\\" + bytes([c])
        else:
            out += bytes([c])
    return out + b'"'


def multipart_prefix(path, ct, body):
    """The wire form up to the envelope's opening quote, for a form."""
    plain = PLAIN[(path, Q)]
    kept, seen = [], set()
    for name, filename, value in multipart_parts(ct, body):
        if name.decode("latin-1") not in plain:
            continue
        if filename is not None or name in seen:
            raise WireError("invalid_multipart", "plain field")
        try:
            value.decode("utf-8")
        except UnicodeError:
            raise WireError("invalid_multipart", "plain field not UTF-8")
        seen.add(name)
        kept.append(b'"' + name + b'":' + json_string(value))
    return b"{" + b"".join(k + b"," for k in kept) + b'"ps2":"'


def multipart_content(ts, query, ct, body):
    return request_content(ts, query, u16(len(ct)) + ct + body)


def seal_multipart_request(secret, kid, nonce, path, ct, body, ts=None,
                           query=b"", bucket=0):
    if ts is None:
        ts = int(time.time())
    if isinstance(query, str):
        query = query.encode()
    check_query(query)
    prefix = multipart_prefix(path, ct, body)
    env = seal_envelope(secret, Q, kid, nonce, None, 0, False,
                        ctx_request(METHOD[path], path),
                        multipart_content(ts, query, ct, body), bucket)
    return prefix + env + b'"}'


def open_multipart_request(secret, path, wire):
    """(ts, query, content type, body, kid, nonce) as the worker opens a
    multipart request."""
    try:
        prefix, env = locate_envelope(wire)
    except WireError:
        raise WireError(no_envelope_code(path, Q, wire))
    content, kid, nonce, _ = open_envelope(secret, Q, 0, False,
                                           ctx_request(METHOD[path], path), env)
    ts, query, rest = split_request(content)
    if len(rest) < 2 or 2 + struct.unpack(">H", rest[:2])[0] > len(rest):
        raise WireError("decrypt_failed", "content type length")
    n = struct.unpack(">H", rest[:2])[0]
    ct, body = rest[2:2 + n], rest[2 + n:]
    try:
        expect = multipart_prefix(path, ct, body)
    except WireError:
        raise WireError("decrypt_failed", "original is not a form")
    if expect != prefix:
        raise WireError("decrypt_failed", "wire form differs")
    return ts, query, ct, body, kid, nonce


def seal_text_reply(secret, kid, nonce, reply, status, body, media="text/plain",
                    bucket=0):
    """A reply that is not JSON: sealed whole, no plain member."""
    env = seal_envelope(secret, R, kid, nonce, reply, 0, False,
                        ctx_reply(status, media), body, bucket)
    return b'{"ps2":"' + env + b'"}'


def open_text_reply(secret, kid, nonce, status, wire, media="text/plain"):
    try:
        prefix, env = locate_envelope(wire)
    except WireError:
        raise WireError("invalid_envelope")
    content, _, _, _ = open_envelope(secret, R, 0, False,
                                     ctx_reply(status, media), env, kid, nonce)
    if prefix != b'{"ps2":"':
        raise WireError("decrypt_failed", "wire form differs")
    return content


# Replies ------------------------------------------------------------

def seal_reply(secret, kid, nonce, reply, path, status, body, bucket=0,
               media="application/json"):
    members(body)
    env = seal_envelope(secret, R, kid, nonce, reply, 0, False,
                        ctx_reply(status, media), body, bucket)
    return wire_form(path, R, body, env)


def open_reply(secret, kid, nonce, path, status, wire,
               media="application/json"):
    """The original reply body, as the client opens it."""
    try:
        prefix, env = locate_envelope(wire)
    except WireError:
        raise WireError(no_envelope_code(path, R, wire))
    content, _, _, _ = open_envelope(secret, R, 0, False,
                                     ctx_reply(status, media), env, kid, nonce)
    try:
        expect = wire_prefix(path, R, content)
    except WireError:
        raise WireError("decrypt_failed", "original is not a body")
    if expect != prefix:
        raise WireError("decrypt_failed", "wire form differs")
    return content


def wire_kid(wire):
    """The kid of a request's wire body (or header envelope)."""
    if wire.startswith(b"ps2:"):
        return parse_envelope(wire, Q)[0]
    return parse_envelope(locate_envelope(wire)[1], Q)[0]


def wire_envelope(wire, direction):
    """(kid, nonce, reply, ct) of a wire body's envelope."""
    return parse_envelope(locate_envelope(wire)[1], direction)


# ------------------------------------------------------------ section 5

def split_events(data):
    """The events of an SSE body read whole (protocol.md section 5): a
    list of raw event texts; a last event without its empty line is
    dropped."""
    events, cur, line, i, n = [], b"", 0, 0, len(data)
    while i < n:
        c = data[i:i + 1]
        if c in (b"\r", b"\n"):
            end = c
            if c == b"\r" and data[i + 1:i + 2] == b"\n":
                end = b"\r\n"
            i += len(end)
            if line == 0:
                if cur:
                    events.append(cur + end)
                    cur = b""
                # an empty line before any content: no event
            else:
                cur += end
                line = 0
            continue
        j = i
        while j < n and data[j:j + 1] not in (b"\r", b"\n"):
            j += 1
        cur += data[i:j]
        line += j - i
        i = j
    return events


def _lines(event):
    return [l for l in re.split(rb"\r\n|\r|\n", event)]


def event_data(event):
    """The data of an event: its data lines' values joined with LF, or None
    when it has no data line."""
    vals = []
    for l in _lines(event):
        if l == b"data":
            vals.append(b"")
        elif l.startswith(b"data:"):
            v = l[5:]
            vals.append(v[1:] if v.startswith(b" ") else v)
    return b"\n".join(vals) if vals else None


def event_original(event):
    """The original whose plain members an event's wire form carries, or
    None (no data, or data that is not an original body)."""
    d = event_data(event)
    if d is None:
        return None
    try:
        members(d)
    except WireError:
        return None
    return d


def seal_event(secret, kid, nonce, reply, path, msg, event, bucket=256,
               status=200):
    env = seal_envelope(secret, R, kid, nonce, reply, msg, False,
                        ctx_reply(status, "text/event-stream"), event, bucket)
    return b"data: " + wire_form(path, R, event_original(event), env) + b"\n\n"


def final_record(secret, kid, nonce, reply, count, bucket=256, status=200):
    env = seal_envelope(secret, R, kid, nonce, reply, count, True,
                        ctx_reply(status, "text/event-stream"), u32(count),
                        bucket)
    return b"data: " + env + b"\n\n"


def seal_stream(secret, kid, nonce, reply, path, upstream, bucket=256):
    """The wire stream for a whole upstream SSE body."""
    evs = split_events(upstream)
    out = [seal_event(secret, kid, nonce, reply, path, i, e, bucket)
           for i, e in enumerate(evs)]
    out.append(final_record(secret, kid, nonce, reply, len(evs), bucket))
    return b"".join(out)


def open_stream(secret, kid, nonce, path, wire, status=200):
    """Check a whole wire stream as the client does.  Returns (the list of
    event contents, the reply value); raises WireError with the stream
    error code at the first fault."""
    ctx = ctx_reply(status, "text/event-stream")
    contents, reply, ended = [], None, False
    lines = re.split(rb"\r\n|\r|\n", wire)
    if lines and lines[-1] == b"":
        lines.pop()
    else:
        lines = lines[:-1]            # a cut last line is never looked at
    pending = None
    for l in lines:
        if ended:
            break
        if l == b"":
            if pending is None:
                raise WireError("decrypt_failed", "empty event")
            contents.append(pending)
            pending = None
            continue
        if pending is not None or not (l.startswith(b"data:") or l == b"data"):
            raise WireError("decrypt_failed", "not a wire event")
        v = l[5:]
        v = v[1:] if v.startswith(b" ") else v
        msg = len(contents)
        if v.startswith(b"ps2:"):
            try:
                c, _, _, r = open_envelope(secret, R, msg, True, ctx, v, kid, nonce,
                                           reply)
            except WireError:
                raise WireError("stream_truncated")
            if c != u32(msg):
                raise WireError("stream_truncated")
            ended = True
            continue
        try:
            prefix, env = locate_envelope(v)
            c, _, _, r = open_envelope(secret, R, msg, False, ctx, env, kid, nonce,
                                       reply)
            if wire_prefix(path, R, event_original(c)) != prefix:
                raise WireError("decrypt_failed")
        except WireError as e:
            if e.code == "unsupported_version":
                raise WireError("bad_upstream_response")
            raise WireError("decrypt_failed")
        reply = r
        pending = c
    if not ended:
        raise WireError("stream_truncated")
    return contents, reply


# ------------------------------------------------------------ section 7

def keyfile_text(keys):
    """keys: list of (kid bytes, secret bytes, expires int)."""
    return json.dumps({"version": 1, "keys": [
        {"kid": k.hex(), "secret": base64.b64encode(s).decode(), "expires": e}
        for k, s, e in keys]})


def write_keyfile(path, keys, mode=0o600):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(keyfile_text(keys))
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, mode)
    os.rename(tmp, path)


def new_key():
    return os.urandom(16), os.urandom(32)


def read_keyfile(path):
    """The keys of a key cache file: a list of (kid bytes, secret bytes,
    expires int), in file order."""
    with open(path) as f:
        d = json.load(f)
    return [(bytes.fromhex(k["kid"]), base64.b64decode(k["secret"]), k["expires"])
            for k in d["keys"]]


def secret_forms(secret):
    """Every text form a secret could take on a wire or in a log."""
    b64 = base64.b64encode(secret).decode()
    return [secret.hex(), secret.hex().upper(), b64, b64.rstrip("="),
            base64.urlsafe_b64encode(secret).decode().rstrip("=")]

#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Write the known-answer vectors that tests/test_envelope.c checks.

    /usr/bin/python3 tests/vectors/gen_envelope.py [outdir]

writes outdir/envelope.txt (default: the directory of this script) and
outdir/gcm_nist.txt.  The output is deterministic: running it again gives
the same files.

envelope.txt holds keys and envelopes of wire format version 2
(protocol.md sections 2 and 3) built by tests/pswire.py, an implementation
independent of lib/seal/envelope.c (pyca/cryptography's HKDF and AESGCM),
from fixed secrets, kids, nonces and reply values.  Version 2 has no
random IVs, so sealing the same inputs must give the same text.

gcm_nist.txt is a subset of the NIST CAVP AES-256-GCM vectors with a 96-bit
IV, taken from python3-cryptography-vectors, so that the test checks
AES-256-GCM itself against NIST before it trusts the envelope vectors.

Line formats (fields separated by one space, '-' for an empty field):

envelope.txt
  k LABEL DIR SECRET KID NONCE REPLY KEY
      HKDF: the key K of protocol.md section 3.
  v LABEL DIR MSG FINAL BUCKET SECRET KID NONCE REPLY CTX CONTENT ENVELOPE
      envelope_seal of CONTENT must give ENVELOPE, envelope_open of
      ENVELOPE must give CONTENT.
  g LABEL DIR MSG FINAL BUCKET SECRET KID NONCE REPLY CTX LEN SHA ENVLEN ENVSHA
      as v, for a content too large to store: 'abc...z' repeated to LEN
      bytes, given by its SHA-256, and the length and SHA-256 of its
      envelope text.
  x LABEL DIR MSG FINAL SECRET KID NONCE REPLY CTX ENVELOPE CODE
      envelope_open of ENVELOPE must fail with CODE (invalid_envelope or
      decrypt_failed), whatever KID, NONCE, REPLY are expected ('-': take
      them from the envelope).
    DIR is Q or R, MSG a decimal u32, FINAL 0 or 1, BUCKET a decimal size;
    SECRET, KID, NONCE, REPLY, KEY, CTX and CONTENT are lowercase hex;
    ENVELOPE is the envelope text.

gcm_nist.txt
  E KEY IV PT AAD CT TAG       encrypt PT, expect CT and TAG (tag may be short)
  D KEY IV CT AAD TAG PT       decrypt, expect PT
  D KEY IV CT AAD TAG FAIL     decrypt, expect authentication to fail
"""

import hashlib
import os
import struct
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import pswire as w  # noqa: E402

SECRET1 = bytes.fromhex(
    "6a1f0c7e53b2d9884e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f")
KID1 = bytes.fromhex("3f9a0c1d2e4b5a69788796a5b4c3d2e1")
NONCE1 = bytes.fromhex("a0b1c2d3e4f5061728394a5b6c7d8e9f")
REPLY1 = bytes.fromhex("0123456789abcdeffedcba9876543210")
SECRET2 = bytes.fromhex(
    "f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff")
KID2 = bytes.fromhex("00000000000000000000000000000001")
NONCE2 = bytes.fromhex("ffffffffffffffffffffffffffffff00")
REPLY2 = bytes.fromhex("ffffffffffffffffffffffffffffffff")

CHAT_CTX = w.ctx_request("POST", w.CHAT)
MODELS_CTX = w.ctx_request("GET", w.MODELS)
JSON_CTX = w.ctx_reply(200, "application/json")
SSE_CTX = w.ctx_reply(200, "text/event-stream")
ERR_CTX = w.ctx_reply(429, "application/json")


def hx(b):
    return b.hex() if b else "-"


def generated(n):
    return (b"abcdefghijklmnopqrstuvwxyz" * (n // 26 + 1))[:n]


def dirc(d):
    return "Q" if d == w.Q else "R"


# (label, dir, msg, final, bucket, ctx, content); the key set alternates.
SMALL = [
    ("req-chat", w.Q, 0, 0, 0, CHAT_CTX,
     w.request_content(1700000000, b"", b'{"model":"m","messages":[]}')),
    ("req-query", w.Q, 0, 0, 0, CHAT_CTX,
     w.request_content(1700000001, b"a=1&b=%20x", b"{}")),
    ("req-bodyless", w.Q, 0, 0, 0, MODELS_CTX,
     w.request_content(1700000002, b"", b"")),
    ("req-padded-64", w.Q, 0, 0, 64, CHAT_CTX,
     w.request_content(1700000003, b"", b'{"messages":"hi"}')),
    ("req-padded-exact", w.Q, 0, 0, 32, CHAT_CTX, bytes(28)),
    ("reply-body", w.R, 0, 0, 0, JSON_CTX,
     b'{"id":"chatcmpl-1","choices":[{"index":0}]}'),
    ("reply-429", w.R, 0, 0, 0, ERR_CTX,
     b'{"error":{"message":"slow down"}}'),
    ("event-0", w.R, 0, 0, 256, SSE_CTX,
     b'data: {"id":"x","choices":[{"delta":{"content":"Hel"}}]}\n\n'),
    ("event-1", w.R, 1, 0, 256, SSE_CTX,
     b'event: message\nid: 7\ndata: {"choices":[]}\n\n'),
    ("event-done", w.R, 2, 0, 256, SSE_CTX, b"data: [DONE]\n\n"),
    ("event-big-msg", w.R, 0xfffffffe, 0, 16, SSE_CTX, b"data: x\r\n\r\n"),
    ("final-0", w.R, 0, 1, 256, SSE_CTX, w.u32(0)),
    ("final-3", w.R, 3, 1, 256, SSE_CTX, w.u32(3)),
    ("final-max", w.R, 0xffffffff, 1, 0, SSE_CTX, w.u32(0xffffffff)),
    ("empty-content", w.R, 0, 0, 0, JSON_CTX, b""),
    ("empty-ctx", w.R, 0, 0, 0, b"", b"{}"),
    ("bucket-1", w.R, 0, 0, 1, JSON_CTX, b"{}"),
    # Ciphertexts of 21..23 bytes: base64url lengths 0, 2, 3 mod 4.
    ("ct-rem-0", w.Q, 0, 0, 0, CHAT_CTX, b"a"),
    ("ct-rem-3", w.Q, 0, 0, 0, CHAT_CTX, b"ab"),
    ("ct-rem-2", w.Q, 0, 0, 0, CHAT_CTX, b"abc"),
]

# Content lengths around the 12288-byte slices of lib/seal/envelope.c,
# where the tag may straddle two slices, and 1 MiB.
GENERATED = [
    ("gen-12264", w.Q, 0, 0, 0, CHAT_CTX, 12264),
    ("gen-12265", w.Q, 0, 0, 0, CHAT_CTX, 12265),
    ("gen-12268", w.R, 0, 0, 0, JSON_CTX, 12268),
    ("gen-12283", w.R, 5, 0, 256, SSE_CTX, 12283),
    ("gen-12284", w.Q, 0, 0, 0, CHAT_CTX, 12284),
    ("gen-12285", w.Q, 0, 0, 4096, CHAT_CTX, 12285),
    ("gen-24556", w.Q, 0, 0, 0, CHAT_CTX, 24556),
    ("gen-1mib", w.Q, 0, 0, 0, CHAT_CTX, 1 << 20),
    ("gen-1mib-padded", w.R, 0, 0, 65536, JSON_CTX, (1 << 20) + 1),
]


def keyset(i):
    return (SECRET2, KID2, NONCE2, REPLY2) if i % 4 == 3 else \
        (SECRET1, KID1, NONCE1, REPLY1)


def seal_raw(secret, d, kid, nonce, reply, msg, final, ctx, pt):
    """An envelope of the plaintext pt as it is (no length, no padding)."""
    key = w.derive(secret, d, kid, nonce, reply)
    ct = AESGCM(key).encrypt(w.iv(msg, final), pt,
                             w.aad(d, kid, nonce, reply, msg, final, ctx))
    return w.envelope_text(d, kid, nonce, reply, ct).decode()


def flip(text, pos):
    alpha = ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    c = text[pos]
    return text[:pos] + alpha[alpha.index(c) ^ 1] + text[pos + 1:]


def refused():
    """(label, dir, msg, final, ctx, envelope, expected kid, nonce, reply,
    code) for envelope_open."""
    s, k, n, r = SECRET1, KID1, NONCE1, REPLY1
    good_q = w.seal_envelope(s, w.Q, k, n, None, 0, False, CHAT_CTX,
                             b"hello").decode()
    good_r = w.seal_envelope(s, w.R, k, n, r, 0, False, JSON_CTX,
                             b"hello").decode()
    D, I = "decrypt_failed", "invalid_envelope"
    out = [
        ("flip-last", w.Q, 0, 0, CHAT_CTX, flip(good_q, len(good_q) - 1), I),
        ("flip-first-ct", w.Q, 0, 0, CHAT_CTX, flip(good_q, 60), D),
        ("other-msg", w.Q, 1, 0, CHAT_CTX, good_q, D),
        ("other-final", w.Q, 0, 1, CHAT_CTX, good_q, D),
        ("other-ctx-path", w.Q, 0, 0, w.ctx_request("POST", w.COMPLETIONS),
         good_q, D),
        ("other-ctx-method", w.Q, 0, 0, w.ctx_request("GET", w.CHAT), good_q, D),
        ("reply-status", w.R, 0, 0, w.ctx_reply(201, "application/json"),
         good_r, D),
        ("reply-media", w.R, 0, 0, w.ctx_reply(200, "text/html"), good_r, D),
        ("other-secret", w.Q, 0, 0, CHAT_CTX,
         w.seal_envelope(SECRET2, w.Q, k, n, None, 0, False, CHAT_CTX,
                         b"hello").decode(), D),
        ("other-reply-value", w.R, 0, 0, JSON_CTX,
         good_r.replace(w.b64u(r), w.b64u(REPLY2)), D),
        ("request-as-reply", w.R, 0, 0, JSON_CTX, good_q, I),
        ("reply-as-request", w.Q, 0, 0, CHAT_CTX, good_r, I),
        ("pad-nonzero", w.R, 0, 0, JSON_CTX,
         seal_raw(s, w.R, k, n, r, 0, 0, JSON_CTX, w.u32(2) + b"{}\0\1"), D),
        ("len-over", w.R, 0, 0, JSON_CTX,
         seal_raw(s, w.R, k, n, r, 0, 0, JSON_CTX, w.u32(3) + b"{}"), D),
        ("len-max", w.R, 0, 0, JSON_CTX,
         seal_raw(s, w.R, k, n, r, 0, 0, JSON_CTX, w.u32(0xffffffff) + b"{}"),
         D),
        ("pt-3-bytes", w.R, 0, 0, JSON_CTX,
         seal_raw(s, w.R, k, n, r, 0, 0, JSON_CTX, b"\0\0\0"), I),
        ("pt-empty", w.R, 0, 0, JSON_CTX,
         seal_raw(s, w.R, k, n, r, 0, 0, JSON_CTX, b""), I),
        ("ps1-prefix", w.Q, 0, 0, CHAT_CTX, "ps1" + good_q[3:], I),
        ("upper-hex-kid", w.Q, 0, 0, CHAT_CTX,
         good_q[:4] + good_q[4:36].upper() + good_q[36:], I),
        ("nonce-21", w.Q, 0, 0, CHAT_CTX, good_q[:37] + good_q[38:], I),
        ("no-ct", w.Q, 0, 0, CHAT_CTX, good_q[:60], I),
        ("ct-1-mod-4", w.Q, 0, 0, CHAT_CTX, good_q + "AAA", I),
        ("ct-tail-bits", w.Q, 0, 0, CHAT_CTX,
         seal_raw(s, w.Q, k, n, None, 0, 0, CHAT_CTX, w.u32(2) + b"xy")[:-1] +
         "B", I),
        ("padding-char", w.Q, 0, 0, CHAT_CTX, good_q + "=", I),
        ("fifth-field", w.Q, 0, 0, CHAT_CTX, good_q + ":AAAA", I),
        ("backslash", w.Q, 0, 0, CHAT_CTX, good_q[:70] + "\\" + good_q[71:], I),
        # (The file separates fields by spaces, so no field holds one.)
        ("std-alphabet", w.Q, 0, 0, CHAT_CTX, good_q[:70] + "+" + good_q[71:],
         I),
    ]
    return [(lab, d, m, f, c, e, "-", "-", "-", code)
            for lab, d, m, f, c, e, code in out] + [
        # Another exchange than the one expected.
        ("wrong-kid", w.Q, 0, 0, CHAT_CTX, good_q, KID2.hex(), n.hex(), "-", I),
        ("wrong-nonce", w.Q, 0, 0, CHAT_CTX, good_q, k.hex(), NONCE2.hex(), "-",
         I),
        ("wrong-reply", w.R, 0, 0, JSON_CTX, good_r, k.hex(), n.hex(),
         REPLY2.hex(), I),
    ]


def envelope_lines():
    out = [
        "# promptseal v2 envelope known-answer vectors (protocol.md "
        "sections 2-3)",
        "# generated by tests/vectors/gen_envelope.py with tests/pswire.py "
        "(pyca/cryptography); do not edit",
    ]
    for i, (s, k, n, r) in enumerate([keyset(0), keyset(3),
                                      (SECRET1, KID1, NONCE2, REPLY2)]):
        for d in (w.Q, w.R):
            out.append(" ".join(["k", "key-%d-%s" % (i, dirc(d)), dirc(d),
                                 s.hex(), k.hex(), n.hex(),
                                 r.hex() if d == w.R else "-",
                                 w.derive(s, d, k, n, r).hex()]))
    for i, (label, d, msg, final, bucket, ctx, content) in enumerate(SMALL):
        s, k, n, r = keyset(i)
        env = w.seal_envelope(s, d, k, n, r, msg, final, ctx, content, bucket)
        out.append(" ".join(["v", label, dirc(d), str(msg), str(final),
                             str(bucket), s.hex(), k.hex(), n.hex(),
                             r.hex() if d == w.R else "-", hx(ctx), hx(content),
                             env.decode()]))
    for label, d, msg, final, bucket, ctx, size in GENERATED:
        s, k, n, r = keyset(0)
        content = generated(size)
        env = w.seal_envelope(s, d, k, n, r, msg, final, ctx, content, bucket)
        out.append(" ".join(["g", label, dirc(d), str(msg), str(final),
                             str(bucket), s.hex(), k.hex(), n.hex(),
                             r.hex() if d == w.R else "-", hx(ctx), str(size),
                             hashlib.sha256(content).hexdigest(), str(len(env)),
                             hashlib.sha256(env).hexdigest()]))
    for label, d, msg, final, ctx, env, ek, en, er, code in refused():
        s = SECRET1
        # The reference must refuse it the same way.
        try:
            w.open_envelope(s, d, msg, final, ctx, env.encode(),
                            *[bytes.fromhex(v) if v != "-" else None
                              for v in (ek, en, er)])
            raise AssertionError(label + " opens")
        except w.WireError as e:
            assert e.code == code, (label, e.code, code)
        out.append(" ".join(["x", label, dirc(d), str(msg), str(final),
                             s.hex(), ek, en, er, hx(ctx), env, code]))
    return out


def rsp_cases(path):
    """Yield (params, case) for each case of a CAVP .rsp file."""
    params, case = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                k, v = line[1:-1].split("=")
                params[k.strip()] = int(v)
            elif line.startswith("Count = "):
                case = {}
            elif case is not None and "=" in line:
                k, v = line.split("=")
                case[k.strip()] = v.strip()
            elif case is not None and line == "FAIL":
                case["FAIL"] = True
            elif case is not None and line == "":
                if "Key" in case:
                    yield dict(params), case
                case = None
        if case is not None and "Key" in case:
            yield dict(params), case


def group_key(p):
    return (p["PTlen"], p["AADlen"], p["Taglen"])


def nist_lines():
    import cryptography_vectors
    src = os.path.join(os.path.dirname(cryptography_vectors.__file__),
                       "ciphers", "AES", "GCM")
    out = [
        "# NIST CAVP AES-GCM test vectors (gcmEncryptExtIV256.rsp, "
        "gcmDecrypt256.rsp, CAVS 14.0)",
        "# from python3-cryptography-vectors, "
        "cryptography_vectors/ciphers/AES/GCM/;",
        "# subset: Keylen 256, IVlen 96, from each (PTlen, AADlen, Taglen) "
        "group the first encrypt case,",
        "# the first decrypt case that passes and the first that FAILs. "
        "Written by gen_envelope.py.",
    ]
    seen = set()
    for p, c in rsp_cases(os.path.join(src, "gcmEncryptExtIV256.rsp")):
        if p["Keylen"] != 256 or p["IVlen"] != 96 or group_key(p) in seen:
            continue
        seen.add(group_key(p))
        # Cross-check the vector with the second implementation.
        ct = AESGCM(bytes.fromhex(c["Key"])).encrypt(
            bytes.fromhex(c["IV"]), bytes.fromhex(c["PT"]),
            bytes.fromhex(c["AAD"]))
        assert ct[:len(ct) - 16].hex() == c["CT"]
        assert ct[len(ct) - 16:].hex().startswith(c["Tag"])
        out.append(" ".join(["E", c["Key"], c["IV"], c["PT"] or "-",
                             c["AAD"] or "-", c["CT"] or "-", c["Tag"]]))
    seen = set()
    for p, c in rsp_cases(os.path.join(src, "gcmDecrypt256.rsp")):
        if p["Keylen"] != 256 or p["IVlen"] != 96:
            continue
        fail = c.get("FAIL", False)
        k = group_key(p) + (fail,)
        if k in seen:
            continue
        seen.add(k)
        out.append(" ".join(["D", c["Key"], c["IV"], c["CT"] or "-",
                             c["AAD"] or "-", c["Tag"],
                             "FAIL" if fail else (c["PT"] or "-")]))
    return out


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.dirname(os.path.abspath(__file__))
    for name, lines in (("envelope.txt", envelope_lines()),
                        ("gcm_nist.txt", nist_lines())):
        with open(os.path.join(outdir, name), "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Write the known-answer vectors that tests/test_envelope.c checks.

    /usr/bin/python3 tests/vectors/gen_envelope.py [outdir]

writes outdir/envelope.txt (default: the directory of this script) and
outdir/gcm_nist.txt.  The output is deterministic: running it again gives
the same files.

envelope.txt holds envelopes built by an implementation independent of
lib/seal/envelope.c (pyca/cryptography's AESGCM, which wraps OpenSSL) from
protocol.md sections 2 and 3, with fixed keys, kids, nonces and IVs.

gcm_nist.txt is a subset of the NIST CAVP AES-256-GCM vectors with a 96-bit
IV, taken from python3-cryptography-vectors, so that the test checks
AES-256-GCM itself against NIST before it trusts the envelope vectors.

Line formats (fields separated by one space, '-' for an empty field):

envelope.txt
  v LABEL DIR MSG FINAL NAME KEY KID NONCE IV PT ENVELOPE
  g LABEL DIR MSG FINAL NAME KEY KID NONCE IV PTLEN PTSHA256 ENVLEN ENVSHA256
    DIR is Q or R, MSG a decimal u32, FINAL 0 or 1; NAME, KEY, KID, NONCE,
    IV and PT are lowercase hex; ENVELOPE is the envelope text.
    A 'g' line stands for a plaintext too large to store: the JSON string
    '"' + 'abc...z' repeated + '"' of exactly PTLEN bytes; the line gives
    its SHA-256 and the length and SHA-256 of its envelope text.

gcm_nist.txt
  E KEY IV PT AAD CT TAG       encrypt PT, expect CT and TAG (tag may be short)
  D KEY IV CT AAD TAG PT       decrypt, expect PT
  D KEY IV CT AAD TAG FAIL     decrypt, expect authentication to fail
"""

import base64
import hashlib
import os
import struct
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# Fixed inputs.  IVs are derived from the label so no two vectors share a
# (key, IV) pair.
KEY1 = bytes.fromhex(
    "6a1f0c7e53b2d9884e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f")
KID1 = bytes.fromhex("3f9a0c1d2e4b5a69788796a5b4c3d2e1")
NONCE1 = bytes.fromhex("a0b1c2d3e4f5061728394a5b6c7d8e9f")
KEY2 = bytes.fromhex(
    "f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff")
KID2 = bytes.fromhex("00000000000000000000000000000001")
NONCE2 = bytes.fromhex("ffffffffffffffffffffffffffffff00")

REQ, RESP = "Q", "R"


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def iv_for(label):
    return hashlib.sha256(b"promptseal iv " + label.encode()).digest()[:12]


def aad(direction, kid, nonce, msg, final, name):
    return (b"ps1\x00" + direction.encode() + kid + nonce +
            struct.pack(">I", msg) + bytes([final]) + name)


def seal(key, kid, nonce, iv, direction, msg, final, name, pt):
    ct = AESGCM(key).encrypt(iv, pt, aad(direction, kid, nonce, msg, final,
                                         name))
    return "ps1:%s:%s:%s:%s" % (kid.hex(), b64url(nonce), b64url(iv),
                                 b64url(ct))


def generated_plaintext(n):
    body = b"abcdefghijklmnopqrstuvwxyz" * (n // 26 + 1)
    return b'"' + body[:n - 2] + b'"'


def hx(b):
    return b.hex() if b else "-"


# (label, dir, msg, final, name, plaintext): every JSON type, empty string,
# non-ASCII text, both directions, large message indexes, end records.
SMALL = [
    ("string", REQ, 0, 0, "messages", '"Hello, world"'),
    ("number-int", REQ, 0, 0, "temperature", "42"),
    ("number-frac", REQ, 0, 0, "top_p", "-12.5e-3"),
    ("array", REQ, 0, 0, "messages",
     '[{"role":"system","content":"Be brief."},'
     '{"role":"user","content":"Hi"}]'),
    ("object", REQ, 0, 0, "response_format", '{"type":"json_object"}'),
    ("true", REQ, 0, 0, "logprobs", "true"),
    ("false", REQ, 0, 0, "echo", "false"),
    ("null", REQ, 0, 0, "user", "null"),
    ("empty-string", REQ, 0, 0, "prompt", '""'),
    ("empty-array", REQ, 0, 0, "stop", "[]"),
    ("empty-object", REQ, 0, 0, "metadata", "{}"),
    ("german", REQ, 0, 0, "prompt",
     '"Gr\u00fc\u00dfe aus M\u00fcnchen: \u00c4rger \u00fcber \u00d6l"'),
    ("japanese", REQ, 0, 0, "prompt",
     '"\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3067\u3059"'),
    ("emoji", REQ, 0, 0, "prompt", '"\U0001F600\U0001F510 \u2764\ufe0f"'),
    ("escapes", REQ, 0, 0, "prompt", '"line\\nbreak \\"quoted\\" \\u0000"'),
    ("resp-choices", RESP, 0, 0, "choices",
     '[{"index":0,"message":{"role":"assistant","content":"Hello!"},'
     '"finish_reason":"stop"}]'),
    ("resp-created", RESP, 0, 0, "created", "1700000000"),
    ("resp-stream-1", RESP, 1, 0, "choices",
     '[{"index":0,"delta":{"content":"Hel"}}]'),
    ("resp-stream-7", RESP, 7, 0, "object", '"chat.completion.chunk"'),
    ("resp-stream-big", RESP, 0xfffffffe, 0, "choices",
     '[{"index":0,"delta":{}}]'),
    ("resp-stream-max", RESP, 0xffffffff, 0, "model", '"m"'),
    ("req-msg-big", REQ, 0xfffffffe, 0, "input", '"x"'),
    ("done-0", RESP, 0, 1, "[DONE]", "0"),
    ("done-3", RESP, 3, 1, "[DONE]", "3"),
    ("done-big", RESP, 0xfffffffe, 1, "[DONE]", "4294967294"),
    ("name-utf8", REQ, 0, 0, "schl\u00fcssel_\u540d\u524d", '"v"'),
    ("name-empty", REQ, 0, 0, "", '"no name"'),
    # Ciphertexts of 17..19 bytes: base64url lengths 3, 0, 2 mod 4.
    ("ct-rem-3", REQ, 0, 0, "n", "1"),
    ("ct-rem-0", REQ, 0, 0, "n", "12"),
    ("ct-rem-2", REQ, 0, 0, "n", "123"),
]

# Plaintext lengths around the 12288-byte slices of lib/seal/envelope.c, where
# the tag may straddle two slices, and the 1 MiB value.
GENERATED = [
    ("gen-12270", REQ, 0, 0, "prompt", 12270),
    ("gen-12271", REQ, 0, 0, "prompt", 12271),
    ("gen-12272", REQ, 0, 0, "prompt", 12272),
    ("gen-12280", RESP, 0, 0, "choices", 12280),
    ("gen-12287", RESP, 5, 0, "choices", 12287),
    ("gen-12288", REQ, 0, 0, "prompt", 12288),
    ("gen-12289", REQ, 0, 0, "prompt", 12289),
    ("gen-24560", REQ, 0, 0, "prompt", 24560),
    ("gen-24561", REQ, 0, 0, "prompt", 24561),
    ("gen-1mib", REQ, 0, 0, "messages", 1 << 20),
]


def envelope_lines():
    out = [
        "# promptseal envelope known-answer vectors (protocol.md sections 2-3)",
        "# generated by tests/vectors/gen_envelope.py with pyca/cryptography "
        "AESGCM; do not edit",
    ]
    for i, (label, d, msg, final, name, pt) in enumerate(SMALL):
        # Every fifth vector uses the second key set.
        key, kid, nonce = (KEY2, KID2, NONCE2) if i % 5 == 4 else \
            (KEY1, KID1, NONCE1)
        name_b, pt_b, iv = name.encode(), pt.encode(), iv_for(label)
        env = seal(key, kid, nonce, iv, d, msg, final, name_b, pt_b)
        out.append(" ".join(["v", label, d, str(msg), str(final), hx(name_b),
                             key.hex(), kid.hex(), nonce.hex(), iv.hex(),
                             hx(pt_b), env]))
    for label, d, msg, final, name, n in GENERATED:
        name_b, pt_b, iv = name.encode(), generated_plaintext(n), iv_for(label)
        env = seal(KEY1, KID1, NONCE1, iv, d, msg, final, name_b,
                   pt_b).encode()
        out.append(" ".join(["g", label, d, str(msg), str(final), hx(name_b),
                             KEY1.hex(), KID1.hex(), NONCE1.hex(), iv.hex(),
                             str(len(pt_b)), hashlib.sha256(pt_b).hexdigest(),
                             str(len(env)), hashlib.sha256(env).hexdigest()]))
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

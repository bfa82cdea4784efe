#!/usr/bin/python3
"""Known-answer vectors for message_open (protocol.md sections 2-4).

Builds encrypted JSON bodies with Python's cryptography package, an
implementation independent of the C code, from fixed keys and IVs, and
writes them with the plain body message_open must give back (or the error
it must report) to message.json next to this script:

    /usr/bin/python3 tests/vectors/gen_message.py

Output is deterministic; rerunning it rewrites the same file.
"""
import base64
import json
import os
import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY = bytes(range(0x40, 0x60))
KID = bytes.fromhex("00112233445566778899aabbccddeeff")
NONCE = bytes(range(0xa0, 0xb0))
OTHER_KID = bytes.fromhex("ffeeddccbbaa99887766554433221100")
OTHER_NONCE = bytes(range(0xb0, 0xc0))

DIRS = {"request": 0x51, "response": 0x52}


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def aad(direction, kid, nonce, msg, final, name):
    return (b"ps1\x00" + bytes([DIRS[direction]]) + kid + nonce +
            struct.pack(">I", msg) + bytes([1 if final else 0]) + name)


def envelope(pt, iv, direction, name, msg=0, final=False, kid=KID,
             nonce=NONCE, key=KEY):
    ct = AESGCM(key).encrypt(iv, pt, aad(direction, kid, nonce, msg, final,
                                         name))
    return "ps1:%s:%s:%s:%s" % (kid.hex(), b64url(nonce), b64url(iv),
                                b64url(ct))


def name_bytes(raw):
    """The UTF-8 bytes of a member name given as its JSON text (escapes
    and all) between the quotes."""
    return json.loads('"' + raw + '"').encode("utf-8")


class Vector:
    def __init__(self, comment, endpoint, direction, members, msg=0,
                 final=False, result="ok", sep=(",", ":"), wrap=("{", "}")):
        """members: (raw name, value text, how) with how one of
        "plain" (sent as is), "seal" (sealed as the receiver expects),
        or a dict of overrides for the sealing (pt, name, direction, msg,
        final, kid, nonce, key, tamper, text, passed_as_text: the
        receiver keeps the envelope text because the name is plain)."""
        self.comment = comment
        self.endpoint = endpoint
        self.direction = direction
        self.msg = msg
        self.final = final
        self.result = result
        self.members = members
        self.sep = sep
        self.wrap = wrap


def build(index, v):
    sealed_parts = []
    plain_parts = []
    for j, (raw, value, how) in enumerate(v.members):
        plain_parts.append('"%s":%s' % (raw, value))
        if how == "plain":
            sealed_parts.append('"%s"%s%s' % (raw, v.sep[1], value))
            continue
        o = how if isinstance(how, dict) else {}
        iv = bytes([index, j]) + bytes(range(0xc0, 0xca))
        if "text" in o:
            text = o["text"]
        else:
            pt = o.get("pt", value.encode("utf-8"))
            text = envelope(pt, iv, o.get("direction", v.direction),
                            o.get("name", name_bytes(raw)),
                            o.get("msg", v.msg), o.get("final", v.final),
                            o.get("kid", KID), o.get("nonce", NONCE),
                            o.get("key", KEY))
            if o.get("tamper"):
                # Flip one bit of the last ciphertext character's value.
                last = text[-2]
                alpha = ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789-_")
                text = text[:-2] + alpha[alpha.index(last) ^ 1] + text[-1]
        sealed_parts.append('"%s"%s"%s"' % (raw, v.sep[1], text))
        if o.get("passed_as_text"):
            plain_parts[-1] = '"%s":"%s"' % (raw, text)
        elif "pt" in o:
            plain_parts[-1] = '"%s":%s' % (raw, o["pt"].decode("utf-8",
                                                              "replace"))
    sealed = v.wrap[0] + v.sep[0].join(sealed_parts) + v.wrap[1]
    plain = "{" + ",".join(plain_parts) + "}"
    out = {
        "comment": v.comment,
        "endpoint": v.endpoint,
        "dir": v.direction,
        "msg": v.msg,
        "final": v.final,
        "result": v.result,
        "sealed": sealed.encode("utf-8").hex(),
    }
    if v.result == "ok":
        out["plain"] = plain.encode("utf-8").hex()
    return out


S = "seal"
P = "plain"

VECTORS = [
    Vector("chat request: allowlisted members stay plain", "chat", "request", [
        ("model", '"gpt-4o-mini"', P),
        ("messages", '[{"role":"system","content":"Be brief."},'
                     '{"role":"user","content":"Hello, world!"}]', S),
        ("stream", "false", P),
        ("stream_options", '{"include_usage":true}', P),
        ("temperature", "0.2", S),
        ("max_tokens", "64", P),
        ("max_completion_tokens", "128", P),
        ("n", "1", P),
        ("user", '"u-1"', S),
    ]),
    Vector("chat response", "chat", "response", [
        ("id", '"chatcmpl-123"', P),
        ("object", '"chat.completion"', S),
        ("created", "1700000000", S),
        ("model", '"gpt-4o-mini"', S),
        ("choices", '[{"index":0,"message":{"role":"assistant",'
                    '"content":"Hi!"},"finish_reason":"stop"}]', S),
        ("usage", '{"prompt_tokens":9,"completion_tokens":2,'
                  '"total_tokens":11}', P),
    ]),
    Vector("completions request", "completions", "request", [
        ("model", '"gpt-3.5-turbo-instruct"', P),
        ("prompt", '"Say this is a test"', S),
        ("max_tokens", "7", P),
        ("n", "2", P),
        ("stream", "true", P),
        ("stream_options", "null", P),
        ("temperature", "0", S),
    ]),
    Vector("completions response", "completions", "response", [
        ("id", '"cmpl-1"', P),
        ("object", '"text_completion"', S),
        ("choices", '[{"text":"This is a test","index":0}]', S),
        ("usage", '{"total_tokens":12}', P),
    ]),
    Vector("embeddings request", "embeddings", "request", [
        ("model", '"text-embedding-3-small"', P),
        ("input", '["The food was delicious",'
                  '"and the waiter was friendly"]', S),
        ("encoding_format", '"float"', S),
    ]),
    Vector("embeddings response", "embeddings", "response", [
        ("object", '"list"', S),
        ("data", '[{"object":"embedding","index":0,'
                 '"embedding":[0.0023,-0.0093,1e-5]}]', S),
        ("model", '"text-embedding-3-small"', S),
        ("usage", '{"prompt_tokens":8,"total_tokens":8}', P),
    ]),
    Vector("every JSON type as a sealed value", "chat", "request", [
        ("string", '"text with \\"quotes\\", \\\\ and \\u00e9"', S),
        ("empty_string", '""', S),
        ("int", "42", S),
        ("negative", "-1.5e-3", S),
        ("zero", "0", S),
        ("true", "true", S),
        ("false", "false", S),
        ("null", "null", S),
        ("object", '{"a":{"b":[1,2,{"c":null}]}}', S),
        ("empty_object", "{}", S),
        ("array", '[1,"two",3.0,true,false,null,[],{}]', S),
        ("empty_array", "[]", S),
        ("utf8", '"caf\u00e9 \u20ac \U0001f600"', S),
    ]),
    Vector("non-ASCII and escaped member names: the AAD has their UTF-8",
           "chat", "request", [
        ("m\u00e9ssages", '"raw UTF-8 name"', S),
        ("\\u00e9t\\u00e9", '"escaped name"', S),
        ("\\ud83d\\ude00", '"surrogate pair name"', S),
        ("\U0001f600x", '"raw 4-byte name"', S),
        ("tab\\tname", '"escaped tab"', S),
        ("quo\\\"te", '"escaped quote"', S),
        ("sl\\/ash", '"escaped slash"', S),
        ("", '"empty name"', S),
        ("mod\\u0065l", '"escaped allowlisted name stays plain"', P),
    ]),
    Vector("stream event 5 of a response", "chat", "response", [
        ("id", '"chatcmpl-9"', P),
        ("choices", '[{"index":0,"delta":{"content":"lo"}}]', S),
    ], msg=5),
    Vector("end-of-stream style final flag", "chat", "response", [
        ("choices", '[]', S),
    ], msg=3, final=True),
    Vector("whitespace around tokens of the sealed body", "chat", "request", [
        ("model", '"m"', P),
        ("messages", '"x"', S),
    ], sep=(" ,\n\t", " : "), wrap=(" \r\n{ ", "\n}\t ")),
    Vector("a re-serialized plaintext is spliced as it is", "chat",
           "request", [
        ("messages", '[1,2]', {"pt": b'[ 1, 2 ]'}),
        ("tools", '{}', {"pt": b'\n{"a" : [ ]}\t'}),
    ]),
    Vector("models response: a sealed member is not expected", "models",
           "response", [
        ("object", '"list"', P),
        ("data", '[{"id":"gpt-4o","object":"model"}]', P),
    ]),

    Vector("request value opened as a response", "chat", "response", [
        ("choices", '"x"', {"direction": "request"}),
    ], result="decrypt_failed"),
    Vector("response value opened as a request", "chat", "request", [
        ("messages", '"x"', {"direction": "response"}),
    ], result="decrypt_failed"),
    Vector("value moved under another name", "chat", "request", [
        ("messages", '"x"', {"name": b"prompt"}),
    ], result="decrypt_failed"),
    Vector("value from another stream event", "chat", "response", [
        ("choices", '"x"', {"msg": 1}),
    ], msg=2, result="decrypt_failed"),
    Vector("final flag set where it is not", "chat", "response", [
        ("choices", '"x"', {"final": True}),
    ], result="decrypt_failed"),
    Vector("escaped name sealed under its escaped form", "chat", "request", [
        ("\\u00e9", '"x"', {"name": b"\\u00e9"}),
    ], result="decrypt_failed"),
    Vector("one ciphertext bit flipped", "chat", "request", [
        ("messages", '"hello"', {"tamper": True}),
    ], result="decrypt_failed"),
    Vector("wrong key", "chat", "request", [
        ("messages", '"x"', {"key": bytes(32)}),
    ], result="decrypt_failed"),
    Vector("second member under another nonce", "chat", "request", [
        ("messages", '"x"', S),
        ("tools", '"y"', {"nonce": OTHER_NONCE}),
    ], result="invalid_envelope"),
    Vector("second member under another kid", "chat", "request", [
        ("messages", '"x"', S),
        ("tools", '"y"', {"kid": OTHER_KID}),
    ], result="invalid_envelope"),
    Vector("plaintext of two values", "chat", "request", [
        ("messages", "1", {"pt": b"1 2"}),
    ], result="invalid_envelope"),
    Vector("plaintext with trailing bytes", "chat", "request", [
        ("messages", "1", {"pt": b'{"a":1}x'}),
    ], result="invalid_envelope"),
    Vector("empty plaintext", "chat", "request", [
        ("messages", "1", {"pt": b""}),
    ], result="invalid_envelope"),
    Vector("whitespace-only plaintext", "chat", "request", [
        ("messages", "1", {"pt": b" \n"}),
    ], result="invalid_envelope"),
    Vector("plaintext that closes the object and adds a member", "chat",
           "request", [
        ("messages", "1", {"pt": b'1,"model":"evil"'}),
    ], result="invalid_envelope"),
    Vector("plaintext with a lone surrogate", "chat", "request", [
        ("messages", "1", {"pt": b'"\\ud800"'}),
    ], result="invalid_envelope"),
    Vector("plaintext that is not UTF-8", "chat", "request", [
        ("messages", "1", {"pt": b'"\xff"'}),
    ], result="invalid_envelope"),
    Vector("plaintext with a trailing comma", "chat", "request", [
        ("messages", "1", {"pt": b"[1,]"}),
    ], result="invalid_envelope"),
    Vector("envelope text with a fifth field", "chat", "request", [
        ("messages", "1", {"text": envelope(b"1", bytes(12), "request",
                                            b"messages") + ":AAAA"}),
    ], result="invalid_envelope"),
    Vector("envelope text cut short", "chat", "request", [
        ("messages", "1", {"text": "ps1:" + KID.hex() + ":" + b64url(NONCE)}),
    ], result="invalid_envelope"),
    Vector("message without any sealed member", "chat", "request", [
        ("model", '"m"', P),
    ], result="invalid_envelope"),
    Vector("plain member where a sealed one belongs", "chat", "request", [
        ("messages", '"x"', S),
        ("temperature", "0.5", P),
    ], result="plaintext_member"),
    Vector("plain string that does not start with ps1:", "chat", "request", [
        ("messages", '"hello ps1:"', P),
    ], result="plaintext_member"),
    Vector("an allowlisted member that arrives sealed passes as a string",
           "chat", "response", [
        ("id", '"x"', {"passed_as_text": True}),
        ("choices", '"y"', S),
    ]),
]


def main():
    out = {
        "comment": "generated by gen_message.py; do not edit",
        "key": KEY.hex(),
        "kid": KID.hex(),
        "nonce": NONCE.hex(),
        "vectors": [build(i, v) for i, v in enumerate(VECTORS)],
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "message.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

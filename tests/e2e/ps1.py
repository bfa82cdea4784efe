"""An independent implementation of the promptseal wire format (protocol.md
sections 2, 3, 5) with Python's cryptography package, for crafting and
checking what crosses between the proxies in the end-to-end tests."""

import base64
import json
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

Q, R = 0x51, 0x52
PLAIN = {
    ("/v1/chat/completions", Q): {"model", "stream", "stream_options", "max_tokens",
                                  "max_completion_tokens", "n"},
    ("/v1/completions", Q): {"model", "stream", "stream_options", "max_tokens", "n"},
    ("/v1/embeddings", Q): {"model"},
    ("/v1/chat/completions", R): {"id", "usage"},
    ("/v1/completions", R): {"id", "usage"},
    ("/v1/embeddings", R): {"usage"},
}


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def aad(direction, kid, nonce, msg, final, name):
    return (b"ps1\0" + bytes([direction]) + kid + nonce + msg.to_bytes(4, "big")
            + (b"\1" if final else b"\0") + name.encode())


def seal(key, kid, nonce, direction, msg, final, name, plaintext, iv=None):
    iv = iv or os.urandom(12)
    ct = AESGCM(key).encrypt(iv, plaintext, aad(direction, kid, nonce, msg, final, name))
    return "ps1:%s:%s:%s:%s" % (kid.hex(), b64u(nonce), b64u(iv), b64u(ct))


def parse(env):
    parts = env.split(":")
    if len(parts) != 5 or parts[0] != "ps1":
        raise ValueError("not an envelope")
    return bytes.fromhex(parts[1]), unb64u(parts[2]), unb64u(parts[3]), unb64u(parts[4])


def open_(key, direction, msg, final, name, env):
    kid, nonce, iv, ct = parse(env)
    return AESGCM(key).decrypt(iv, ct, aad(direction, kid, nonce, msg, final, name))


def seal_body(path, key, kid, nonce, direction, body, msg=0):
    plain = PLAIN[(path, direction)]
    out = {}
    for name, value in body.items():
        if name in plain:
            out[name] = value
        else:
            pt = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
            out[name] = seal(key, kid, nonce, direction, msg, False, name, pt)
    return out


def open_body(path, key, direction, body, msg=0):
    plain = PLAIN[(path, direction)]
    out = {}
    for name, value in body.items():
        out[name] = value if name in plain else json.loads(
            open_(key, direction, msg, False, name, value))
    return out


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

#!/usr/bin/python3
"""Known-answer vectors for lib/attest/wrap.c from an independent implementation
(python3-cryptography).  Prints the vectors that tests/test_wrap.c embeds:
    /usr/bin/python3 tests/wrap_vectors.py
"""
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey, X25519PublicKey)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives import serialization

LABEL = b"promptseal wrap v1"
RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


def wrap(eph_priv, rcpt_pub, aad, pt):
    eph = X25519PrivateKey.from_private_bytes(eph_priv)
    eph_pub = eph.public_key().public_bytes(*RAW)
    rcpt = X25519PublicKey.from_public_bytes(rcpt_pub)
    shared = eph.exchange(rcpt)
    okm = HKDF(algorithm=SHA256(), length=44, salt=LABEL,
               info=LABEL + eph_pub + rcpt_pub).derive(shared)
    ct = AESGCM(okm[:32]).encrypt(okm[32:], pt, aad if aad else None)
    return b"psw1" + eph_pub + ct


def main():
    rcpt_priv = bytes(range(1, 33))
    rcpt_pub = X25519PrivateKey.from_private_bytes(rcpt_priv) \
        .public_key().public_bytes(*RAW)
    eph_priv = bytes(range(0x40, 0x60))
    vectors = [
        ("empty", b"", b""),
        ("aad", b"challenge-0123456789abcdef012345", b"the secret keys"),
        ("record", b"\x00" * 32, bytes(range(56))),
    ]
    print("rcpt_priv", rcpt_priv.hex())
    print("rcpt_pub", rcpt_pub.hex())
    print("eph_priv", eph_priv.hex())
    for name, aad, pt in vectors:
        print(name, "aad", aad.hex(), "pt", pt.hex())
        print(name, "blob", wrap(eph_priv, rcpt_pub, aad, pt).hex())


if __name__ == "__main__":
    main()

#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Known-answer vectors for lib/attest/wrap.c from an independent
implementation (python3-cryptography, in tests/e2e/simas.py).  Prints the
vectors that tests/wrap_kat.h embeds:
    /usr/bin/python3 tests/wrap_vectors.py
"""
import os
import sys

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "e2e"))
import simas  # noqa: E402


def main():
    rcpt_priv = bytes(range(1, 33))
    rcpt_pub = X25519PrivateKey.from_private_bytes(rcpt_priv) \
        .public_key().public_bytes(*simas.RAW)
    eph_priv = bytes(range(0x40, 0x60))
    eph = X25519PrivateKey.from_private_bytes(eph_priv)
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
        print(name, "blob", simas.wrap(eph, rcpt_pub, aad, pt).hex())


if __name__ == "__main__":
    main()

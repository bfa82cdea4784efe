#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Known-answer vectors for lib/attest/attest.c and lib/attest/attest_sim.c
from an independent implementation (python3-cryptography and hashlib, in
tests/e2e/simas.py).  Prints the vectors that tests/attest_kat.h embeds:
    /usr/bin/python3 tests/attest_vectors.py
"""
import os
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "e2e"))
import simas  # noqa: E402


def main():
    challenge = bytes(range(0xa0, 0xc0))
    pubkey = bytes(range(0x10, 0x30))
    rd = simas.report_data(challenge, pubkey)
    priv = bytes(range(0x70, 0x90))
    platform = Ed25519PrivateKey.from_private_bytes(priv)
    meas = bytes(range(48))
    print("challenge", challenge.hex())
    print("pubkey", pubkey.hex())
    print("report_data", rd.hex())
    print("platform_priv", priv.hex())
    print("platform_pub", platform.public_key().public_bytes(*simas.RAW).hex())
    print("measurement", meas.hex())
    print("report", simas.sim_report(platform, meas, rd).hex())
    print("measure(abc, empty, 'x'*20000)",
          simas.measure([b"abc", b"", b"x" * 20000]).hex())


if __name__ == "__main__":
    main()

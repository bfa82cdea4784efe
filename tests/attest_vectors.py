#!/usr/bin/python3
"""Known-answer vectors for lib/attest/attest.c and lib/attest/attest_sim.c from an
independent implementation (python3-cryptography, hashlib).  Prints the
vectors that tests/test_attest.c embeds:
    /usr/bin/python3 tests/attest_vectors.py
"""
import hashlib
import struct

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


def sim_report(priv, measurement, report_data):
    key = Ed25519PrivateKey.from_private_bytes(priv)
    pub = key.public_key().public_bytes(*RAW)
    body = (b"PSIM" + bytes([1, len(measurement), 0, 0]) + pub +
            report_data + measurement)
    return body + key.sign(body)


def measure(contents):
    h = hashlib.sha384()
    for c in contents:
        h.update(struct.pack(">Q", len(c)) + c)
    return h.digest()


def main():
    challenge = bytes(range(0xa0, 0xc0))
    pubkey = bytes(range(0x10, 0x30))
    rd = hashlib.sha512(challenge + pubkey).digest()
    priv = bytes(range(0x70, 0x90))
    meas = bytes(range(48))
    print("challenge", challenge.hex())
    print("pubkey", pubkey.hex())
    print("report_data", rd.hex())
    print("platform_priv", priv.hex())
    print("platform_pub", Ed25519PrivateKey.from_private_bytes(priv)
          .public_key().public_bytes(*RAW).hex())
    print("measurement", meas.hex())
    print("report", sim_report(priv, meas, rd).hex())
    print("measure(abc, empty, 'x'*20000)",
          measure([b"abc", b"", b"x" * 20000]).hex())


if __name__ == "__main__":
    main()

#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Known-answer vectors for lib/attest/hpke.c from an independent
implementation (python3-cryptography, in tests/e2e/simas.py).  It first
checks itself against RFC 9180 appendix A.1.1, then prints the
AES-256-GCM vectors that tests/test_hpke.c embeds (RFC 9180 publishes none
for X25519 with AES-256-GCM):
    /usr/bin/python3 tests/hpke_vectors.py
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "e2e"))
import simas  # noqa: E402

A1 = dict(
    info="4f6465206f6e2061204772656369616e2055726e",
    ikmE="7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234",
    ikmR="6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037",
    pkRm="3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d",
    skRm="4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8",
    enc="37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
    pt="4265617574792069732074727574682c20747275746820626561757479",
    aad="436f756e742d30",
    ct="f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a9"
       "6d8770ac83d07bea87e13c512a",
)


def main():
    h = bytes.fromhex
    sk, pk = simas.hpke_derive_keypair(h(A1["ikmR"]), simas.HPKE_AES128GCM)
    assert sk.hex() == A1["skRm"] and pk.hex() == A1["pkRm"]
    enc, ct = simas.hpke_seal(pk, h(A1["info"]), h(A1["aad"]), h(A1["pt"]),
                              simas.HPKE_AES128GCM, h(A1["ikmE"]))
    assert enc.hex() == A1["enc"] and ct.hex() == A1["ct"], ct.hex()
    assert simas.hpke_open(sk, enc, h(A1["info"]), h(A1["aad"]), ct,
                           simas.HPKE_AES128GCM) == h(A1["pt"])
    print("A.1.1 reproduced")
    # The same inputs with AEAD 0x0002, and a 32-byte secret as a client
    # seals it.
    for name, info, aad, pt in [
            ("a1inputs", h(A1["info"]), h(A1["aad"]), h(A1["pt"])),
            ("secret", b"promptseal as upload v1", bytes(range(16)),
             bytes(range(0x80, 0xa0)))]:
        enc, ct = simas.hpke_seal(pk, info, aad, pt, simas.HPKE_AES256GCM,
                                  h(A1["ikmE"]))
        print(name, "info", info.hex(), "aad", aad.hex(), "pt", pt.hex())
        print(name, "enc", enc.hex(), "ct", ct.hex())


if __name__ == "__main__":
    main()

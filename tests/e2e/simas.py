# SPDX-License-Identifier: ISC
"""What the attestation service speaks (docs/as-api.md, docs/attestation.md),
written again with an independent implementation (python3-cryptography,
hashlib), for every test of the AS: "sim" reports and measurements, the
wrap (lib/attest/wrap.h), the released records (lib/attest/release.h), and
the HTTP API over the AS's real TLS endpoint for the end-to-end tests."""

import base64
import hashlib
import http.client
import json
import ssl
import struct
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey, X25519PublicKey)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw
WRAP_LABEL = b"promptseal wrap v1"
RECORD_LEN = 56


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def load_platform(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


def sim_report(platform, measurement, report_data):
    """A "sim" report (docs/attestation.md) signed by platform, an Ed25519
    private key."""
    pub = platform.public_key().public_bytes(*RAW)
    body = (b"PSIM" + bytes([1, len(measurement), 0, 0]) + pub +
            report_data + measurement)
    return body + platform.sign(body)


def report_data(challenge, pubkey):
    """What a report must carry: SHA-512(challenge || pubkey)."""
    return hashlib.sha512(challenge + pubkey).digest()


def measure(contents):
    """The sim measurement of files with these contents, in order."""
    h = hashlib.sha384()
    for c in contents:
        h.update(struct.pack(">Q", len(c)) + c)
    return h.digest()


def _wrap_key(shared, eph_pub, rcpt_pub):
    okm = HKDF(algorithm=SHA256(), length=44, salt=WRAP_LABEL,
               info=WRAP_LABEL + eph_pub + rcpt_pub).derive(shared)
    return okm[:32], okm[32:]


def wrap(eph, rcpt_pub, aad, pt):
    """The blob of pt wrapped to rcpt_pub (32 bytes) under aad, with the
    ephemeral X25519 private key eph."""
    eph_pub = eph.public_key().public_bytes(*RAW)
    key, iv = _wrap_key(eph.exchange(X25519PublicKey.from_public_bytes(
        rcpt_pub)), eph_pub, rcpt_pub)
    return b"psw1" + eph_pub + AESGCM(key).encrypt(iv, pt, aad or None)


def unwrap(priv, aad, blob):
    """Open a wrapped blob (a fetch reply's keys) with the X25519 private
    key priv."""
    assert blob[:4] == b"psw1"
    eph_pub = blob[4:36]
    my_pub = priv.public_key().public_bytes(*RAW)
    key, iv = _wrap_key(priv.exchange(X25519PublicKey.from_public_bytes(
        eph_pub)), eph_pub, my_pub)
    return AESGCM(key).decrypt(iv, blob[36:], aad)


def records(plain):
    """The (kid bytes, secret, expires) records of an unwrapped blob."""
    assert len(plain) % RECORD_LEN == 0
    return [(plain[i:i + 16], plain[i + 16:i + 48],
             struct.unpack(">q", plain[i + 48:i + 56])[0])
            for i in range(0, len(plain), RECORD_LEN)]


# --- HPKE (RFC 9180), base mode, single shot, written from the RFC with
# python3-cryptography's X25519, HMAC-based HKDF and AESGCM; the reference
# for lib/attest/hpke.c.
HPKE_KEM_X25519, HPKE_KDF_SHA256 = 0x0020, 0x0001
HPKE_AES128GCM, HPKE_AES256GCM = 0x0001, 0x0002


def _hmac(key, data):
    import hmac
    return hmac.new(key, data, hashlib.sha256).digest()


def _hkdf_expand(prk, info, n):
    out, t, i = b"", b"", 0
    while len(out) < n:
        i += 1
        t = _hmac(prk, t + info + bytes([i]))
        out += t
    return out[:n]


def _sid(aead, kem_only):
    if kem_only:
        return b"KEM" + struct.pack(">H", HPKE_KEM_X25519)
    return b"HPKE" + struct.pack(">HHH", HPKE_KEM_X25519, HPKE_KDF_SHA256, aead)


def _lx(aead, kem_only, salt, label, ikm):
    return _hmac(salt or b"\0" * 32, b"HPKE-v1" + _sid(aead, kem_only) + label + ikm)


def _le(aead, kem_only, prk, label, info, n):
    return _hkdf_expand(prk, struct.pack(">H", n) + b"HPKE-v1" +
                        _sid(aead, kem_only) + label + info, n)


def hpke_derive_keypair(ikm, aead=HPKE_AES256GCM):
    sk = _le(aead, True, _lx(aead, True, b"", b"dkp_prk", ikm), b"sk", b"", 32)
    return sk, X25519PrivateKey.from_private_bytes(sk).public_key().public_bytes(*RAW)


def _hpke_schedule(aead, dh, enc, pkr, info):
    prk = _lx(aead, True, b"", b"eae_prk", dh)
    shared = _le(aead, True, prk, b"shared_secret", enc + pkr, 32)
    ctx = (b"\0" + _lx(aead, False, b"", b"psk_id_hash", b"") +
           _lx(aead, False, b"", b"info_hash", info))
    secret = _lx(aead, False, shared, b"secret", b"")
    nk = 16 if aead == HPKE_AES128GCM else 32
    return (_le(aead, False, secret, b"key", ctx, nk),
            _le(aead, False, secret, b"base_nonce", ctx, 12))


def hpke_seal(pkr, info, aad, pt, aead=HPKE_AES256GCM, ikm_e=None):
    """(enc, ct) of SealBase to the raw X25519 public key pkr."""
    import os
    ske, enc = hpke_derive_keypair(ikm_e or os.urandom(32), aead)
    dh = X25519PrivateKey.from_private_bytes(ske).exchange(
        X25519PublicKey.from_public_bytes(pkr))
    key, nonce = _hpke_schedule(aead, dh, enc, pkr, info)
    return enc, AESGCM(key).encrypt(nonce, pt, aad)


def hpke_open(skr, enc, info, aad, ct, aead=HPKE_AES256GCM):
    priv = X25519PrivateKey.from_private_bytes(skr)
    dh = priv.exchange(X25519PublicKey.from_public_bytes(enc))
    pkr = priv.public_key().public_bytes(*RAW)
    key, nonce = _hpke_schedule(aead, dh, enc, pkr, info)
    return AESGCM(key).decrypt(nonce, ct, aad)


UPLOAD_INFO = b"promptseal as upload v1"


def sealed_upload(as_pub, kid_hex, secret, ttl, expires=None):
    """The body of an upload: secret sealed with HPKE to as_pub, the kid
    and the expiry (now + ttl unless given) bound as associated data
    (docs/as-api.md)."""
    if expires is None:
        expires = int(time.time()) + ttl
    aad = bytes.fromhex(kid_hex) + struct.pack(">q", expires)
    enc, ct = hpke_seal(as_pub, UPLOAD_INFO, aad, secret)
    return {"kid": kid_hex, "expires": expires, "pubkey": b64url(as_pub),
            "enc": b64url(enc), "sealed": b64url(ct)}


def policy_digest(platform_pubs, worker_measurements, peer_measurements):
    """The AS policy digest (attest/aspolicy.h) of raw keys and
    measurements."""
    text = "promptseal as policy v2\n"
    for k in sorted(set(platform_pubs)):
        text += "platform sim " + k.hex() + "\n"
    for m in sorted(set(worker_measurements)):
        text += "worker " + m.hex() + "\n"
    for m in sorted(set(peer_measurements)):
        text += "peer " + m.hex() + "\n"
    return hashlib.sha256(text.encode()).digest()


def as_report_data(challenge, as_pub, digest):
    return hashlib.sha512(b"promptseal as v1" + challenge + as_pub + digest).digest()


def join_request_report_data(challenge, joiner_pub, digest):
    """What a joining instance's evidence must carry."""
    return hashlib.sha512(b"promptseal as join request v1" + challenge +
                          joiner_pub + digest).digest()


def join_report_data(challenge, joiner_pub, wrapped, digest):
    """What the evidence a peer answers a join with must carry."""
    return hashlib.sha512(b"promptseal as join reply v1" + challenge +
                          joiner_pub + hashlib.sha256(wrapped).digest() +
                          digest).digest()


class AsApi:
    """Calls to the AS at https://localhost:port<prefix>, verified against
    the CA file."""

    def __init__(self, port, ca_file, prefix="/as"):
        self.port, self.prefix = port, prefix
        self.ctx = ssl.create_default_context(cafile=ca_file)

    def post(self, path, body=b"", token=None):
        """POST and return (status, parsed JSON reply)."""
        if isinstance(body, dict):
            body = json.dumps(body).encode()
        h = {"Content-Type": "application/json"}
        if token is not None:
            h["Authorization"] = "Bearer " + token
        c = http.client.HTTPSConnection("localhost", self.port, context=self.ctx,
                                        timeout=30)
        try:
            c.request("POST", self.prefix + path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, json.loads(data) if data else None
        finally:
            c.close()

    def attest(self, challenge=None):
        """The AS's attest reply for challenge (fresh when None):
        (status, reply)."""
        import os
        return self.post("/v1/attest", {"challenge": b64url(challenge or os.urandom(32))})

    def as_key(self):
        st, j = self.attest()
        assert st == 200, (st, j)
        return unb64url(j["pubkey"])

    def upload(self, kid, secret, ttl=600, token=None, as_pub=None):
        """Upload secret sealed to the AS's key (attested here without a
        check: the tests of the check are the client's)."""
        return self.post("/v1/secrets", sealed_upload(
            as_pub or self.as_key(), kid.hex(), secret, ttl), token)

    def challenge(self):
        st, j = self.post("/v1/challenge")
        assert st == 200, (st, j)
        return unb64url(j["challenge"])

    @staticmethod
    def fetch_body(challenge, priv, platform, measurement, bind_pub=None):
        """The body of a fetch for priv's public key, with evidence that
        binds bind_pub instead when it is given."""
        pub = priv.public_key().public_bytes(*RAW)
        rd = report_data(challenge, bind_pub or pub)
        return json.dumps({"challenge": b64url(challenge), "format": "sim",
                           "evidence": b64url(sim_report(platform, measurement, rd)),
                           "pubkey": b64url(pub)}).encode()

    def fetch(self, platform, measurement):
        """A whole worker's exchange.  Returns (status, reply, records or
        None)."""
        ch = self.challenge()
        priv = X25519PrivateKey.generate()
        st, j = self.post("/v1/fetch", self.fetch_body(ch, priv, platform, measurement))
        recs = None
        if st == 200:
            recs = records(unwrap(priv, ch, unb64url(j["keys"])))
        return st, j, recs


def new_x25519():
    return X25519PrivateKey.generate()

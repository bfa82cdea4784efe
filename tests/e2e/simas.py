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

    def upload(self, kid, secret, ttl=600, token=None):
        return self.post("/v1/secrets", {
            "kid": kid.hex(), "secret": base64.b64encode(secret).decode(),
            "ttl": ttl}, token)

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

"""The attestation service's HTTP API (docs/as-api.md) from the outside, for
the end-to-end tests: uploads, challenges and fetches over the AS's real
TLS endpoint, with "sim" evidence made and the wrapped secrets opened by an
independent implementation (python3-cryptography)."""

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


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def load_platform(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


def sim_report(platform, measurement, report_data):
    """A "sim" report (docs/attestation.md) signed by platform."""
    pub = platform.public_key().public_bytes(*RAW)
    body = (b"PSIM" + bytes([1, len(measurement), 0, 0]) + pub +
            report_data + measurement)
    return body + platform.sign(body)


def unwrap(priv, challenge, blob):
    """Open the wrapped blob of a fetch reply (docs/as-api.md)."""
    assert blob[:4] == b"psw1"
    eph_pub = blob[4:36]
    my_pub = priv.public_key().public_bytes(*RAW)
    shared = priv.exchange(X25519PublicKey.from_public_bytes(eph_pub))
    okm = HKDF(algorithm=SHA256(), length=44, salt=b"promptseal wrap v1",
               info=b"promptseal wrap v1" + eph_pub + my_pub).derive(shared)
    return AESGCM(okm[:32]).decrypt(okm[32:], blob[36:], challenge)


def records(plain):
    """The (kid bytes, secret, expires) records of an unwrapped blob."""
    assert len(plain) % 56 == 0
    return [(plain[i:i + 16], plain[i + 16:i + 48],
             struct.unpack(">q", plain[i + 48:i + 56])[0])
            for i in range(0, len(plain), 56)]


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
    def fetch_body(challenge, priv, platform, measurement):
        pub = priv.public_key().public_bytes(*RAW)
        rd = hashlib.sha512(challenge + pub).digest()
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

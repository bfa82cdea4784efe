#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""promptseal-as as a FastCGI program, driven through cgi-fcgi (no web
server): upload, challenge and fetch, with the evidence made and the
wrapped secrets opened by an independent implementation
(python3-cryptography).  The TLS front of the AS is tested end to end
with lighttpd and Apache elsewhere."""

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

# The AS's formats in Python, shared with the end-to-end tests.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "e2e"))
import simas  # noqa: E402

BUILD = os.environ.get("PS_BUILDDIR") or os.getcwd()
AS = os.path.join(BUILD, "fcgi-as", "promptseal-as")
SIM = os.path.join(BUILD, "keysync", "promptseal-sim")
CGI_FCGI = shutil.which("cgi-fcgi") or "/usr/bin/cgi-fcgi"
TOKEN = "fcgi-test-token-0123456789abcdef"


class AsFcgi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(CGI_FCGI):
            raise unittest.SkipTest("cgi-fcgi (libfcgi-bin) is not installed")
        cls.dir = tempfile.mkdtemp(prefix="ps-as-fcgi-")
        d = cls.dir
        with open(os.open(os.path.join(d, "tokens"),
                          os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write("# clients\n" + TOKEN + "\n")
        subprocess.run([SIM, "keygen", d + "/platform.key",
                        d + "/platform.pub"], check=True)
        # The measurement of a file, by the tool and by hand.
        with open(d + "/model.bin", "wb") as f:
            f.write(b"weights" * 1000)
        out = subprocess.run([SIM, "measure", d + "/model.bin", AS],
                             check=True, capture_output=True, text=True)
        contents = []
        for p in (d + "/model.bin", AS):
            with open(p, "rb") as f:
                contents.append(f.read())
        cls.measurement = simas.measure(contents)
        if out.stdout != cls.measurement.hex() + "\n":
            raise AssertionError("promptseal-sim measure: " + out.stdout)
        cls.platform = simas.load_platform(d + "/platform.key")
        cls.sock = d + "/as.sock"
        cls.log = open(d + "/as.log", "w+")
        cls.proc = subprocess.Popen(cls.argv("as"), stdout=cls.log,
                                    stderr=cls.log)
        for _ in range(100):
            if os.path.exists(cls.sock):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("promptseal-as did not start")

    @classmethod
    def argv(cls, name, storage="as.storage"):
        """The AS's command line, its files named after name."""
        d = cls.dir
        return [AS, "--db", "%s/%s.db" % (d, name), "--tokens", d + "/tokens",
                "--platform-key", d + "/platform.pub",
                "--measurement", cls.measurement.hex(),
                "--socket", "%s/%s.sock" % (d, name),
                "--threads", "2", "--max-ttl", "3600", "--log-level", "debug",
                "--attest-key", d + "/platform.key",
                "--attest-measurement-of", AS,
                "--storage-key-file", os.path.join(d, storage)]

    @classmethod
    def tearDownClass(cls):
        if cls.proc.poll() is None:
            cls.proc.kill()
            cls.proc.wait()
        cls.log.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def call(self, method, uri, body=b"", auth=None,
             ctype="application/json"):
        env = {"REQUEST_METHOD": method, "REQUEST_URI": uri,
               "SCRIPT_NAME": uri, "CONTENT_LENGTH": str(len(body)),
               "SERVER_PROTOCOL": "HTTP/1.1", "PATH": "/usr/bin:/bin"}
        if ctype:
            env["CONTENT_TYPE"] = ctype
        if auth:
            env["HTTP_AUTHORIZATION"] = auth
        r = subprocess.run([CGI_FCGI, "-bind", "-connect", self.sock],
                           input=body, env=env, capture_output=True,
                           timeout=30)
        head, _, payload = r.stdout.partition(b"\r\n\r\n")
        status = int(head.split(b"\r\n")[0].split()[1])
        return status, head.decode(), payload

    def as_key(self):
        st, _, body = self.call("POST", "/as/v1/attest", json.dumps(
            {"challenge": simas.b64url(os.urandom(32))}).encode())
        self.assertEqual(st, 200, body)
        return simas.unb64url(json.loads(body)["pubkey"])

    def upload(self, kid, secret, ttl=600, auth="Bearer " + TOKEN,
               expires=None):
        body = json.dumps(simas.sealed_upload(self.as_key(), kid, secret,
                                              ttl, expires)).encode()
        return self.call("POST", "/as/v1/secrets", body, auth)

    def challenge(self):
        st, _, body = self.call("POST", "/as/v1/challenge", ctype=None)
        self.assertEqual(st, 200, body)
        j = json.loads(body)
        self.assertAlmostEqual(j["expires"], time.time() + 60, delta=5)
        return simas.unb64url(j["challenge"])

    def fetch(self, ch, priv, platform=None, measurement=None,
              bind_pub=None):
        body = simas.AsApi.fetch_body(ch, priv, platform or self.platform,
                                      measurement or self.measurement,
                                      bind_pub)
        return self.call("POST", "/as/v1/fetch", body)

    def test_1_upload_and_fetch(self):
        kid, secret = os.urandom(16).hex(), os.urandom(32)
        st, head, body = self.upload(kid, secret)
        self.assertEqual(st, 201, body)
        self.assertIn("Cache-Control: no-store", head)
        j = json.loads(body)
        self.assertEqual(j["kid"], kid)
        self.assertAlmostEqual(j["expires"], time.time() + 600, delta=5)
        st, _, body = self.upload(kid, secret)
        self.assertEqual(st, 409, body)
        self.assertEqual(json.loads(body)["error"]["code"], "kid_exists")

        priv = X25519PrivateKey.generate()
        ch = self.challenge()
        st, _, body = self.fetch(ch, priv)
        self.assertEqual(st, 200, body)
        j = json.loads(body)
        self.assertNotIn(base64.b64encode(secret), body)
        got = simas.records(simas.unwrap(priv, ch, simas.unb64url(j["keys"])))
        self.assertEqual(j["count"], len(got))
        self.assertIn((kid, secret), [(k.hex(), s) for k, s, _ in got])
        # The same evidence again: the challenge is used up.
        st, _, body = self.fetch(ch, priv)
        self.assertEqual(st, 403, body)
        self.assertEqual(json.loads(body)["error"]["message"],
                         "attestation failed: challenge unknown or already used")

    def test_2_refused_evidence(self):
        priv = X25519PrivateKey.generate()
        cases = [
            ({"measurement": b"\x00" * 48},
             "measurement not in the allowlist"),
            ({"platform": Ed25519PrivateKey.generate()},
             "evidence from an untrusted platform key"),
            ({"bind_pub": b"\x01" * 32},
             "evidence does not bind this challenge and public key"),
        ]
        for kw, why in cases:
            st, _, body = self.fetch(self.challenge(), priv, **kw)
            self.assertEqual(st, 403, body)
            err = json.loads(body)["error"]
            self.assertEqual(err["code"], "attestation_failed")
            self.assertEqual(err["message"], "attestation failed: " + why)

    def test_3_refusals(self):
        kid, secret = os.urandom(16).hex(), os.urandom(32)
        st, head, _ = self.upload(kid, secret, auth=None)
        self.assertEqual(st, 401)
        self.assertIn("WWW-Authenticate: Bearer", head)
        self.assertEqual(self.upload(kid, secret, auth="Bearer nope" * 3)[0],
                         401)
        # An expiry in the past is refused; one past --max-ttl is cut.
        self.assertEqual(self.upload(kid, secret, expires=int(time.time()) - 1)[0],
                         400)
        st, _, body = self.upload(os.urandom(16).hex(), secret, ttl=7200)
        self.assertEqual(st, 201, body)
        self.assertLessEqual(json.loads(body)["expires"], time.time() + 3600)
        self.assertEqual(self.call("POST", "/as/v1/secrets", b"{",
                                   "Bearer " + TOKEN)[0], 400)
        self.assertEqual(self.call("POST", "/as/v1/secrets", b"{}",
                                   "Bearer " + TOKEN, "text/plain")[0], 415)
        st, head, _ = self.call("GET", "/as/v1/challenge", ctype=None)
        self.assertEqual(st, 405)
        self.assertIn("Allow: POST", head)
        self.assertEqual(self.call("POST", "/as/v1/other")[0], 404)
        self.assertEqual(self.call("POST", "/v1/chat/completions")[0], 404)
        st, _, body = self.call("POST", "/as/v1/fetch", b"x" * (64 * 1024 + 1))
        self.assertEqual(st, 413, body)
        # Issue 12: the token is checked before the body is read, so a
        # body too large without a token is 401, not 413.
        st, _, body = self.call("POST", "/as/v1/secrets", b"x" * (64 * 1024 + 1))
        self.assertEqual(st, 401, body)
        # None of the refused uploads stored anything.
        self.assertEqual(self.upload(kid, secret)[0], 201)

    def test_35_attest(self):
        """The AS's evidence binds the challenge, its key and its policy:
        checked here by the independent implementation."""
        ch = os.urandom(32)
        st, _, body = self.call("POST", "/as/v1/attest", json.dumps(
            {"challenge": simas.b64url(ch)}).encode())
        self.assertEqual(st, 200, body)
        j = json.loads(body)
        self.assertEqual(j["suite"], {"kem": 32, "kdf": 1, "aead": 2})
        pub = simas.unb64url(j["pubkey"])
        ev = simas.unb64url(j["evidence"])
        ppub = self.platform.public_key().public_bytes(*simas.RAW)
        self.assertEqual(j["policy"]["platform_keys"], [ppub.hex()])
        self.assertEqual(j["policy"]["worker_measurements"],
                         [self.measurement.hex()])
        # Who may join is policy too: by default the AS's own build.
        with open(AS, "rb") as f:
            as_m = simas.measure([f.read()])
        self.assertEqual(j["policy"]["peer_measurements"], [as_m.hex()])
        dig = simas.policy_digest([ppub], [self.measurement], [as_m])
        self.assertEqual(ev[40:104], simas.as_report_data(ch, pub, dig))
        self.assertEqual(ev[104:152], as_m)
        self.assertEqual(ev[8:40], ppub)

    def test_36_join(self):
        """Another instance of the AS's build gets the storage key wrapped
        to its key, under the AS's evidence binding what it got; checked
        by the independent implementation."""
        ppub = self.platform.public_key().public_bytes(*simas.RAW)
        with open(AS, "rb") as f:
            as_m = simas.measure([f.read()])
        dig = simas.policy_digest([ppub], [self.measurement], [as_m])
        # A worker's build, the AS's own /v1/attest report data (another
        # label), then a joiner of the AS's build.
        for m, rd, want in ((self.measurement, simas.join_request_report_data, 403),
                            (as_m, simas.as_report_data, 403),
                            (as_m, simas.join_request_report_data, 200)):
            ch = self.challenge()
            priv = X25519PrivateKey.generate()
            pub = priv.public_key().public_bytes(*simas.RAW)
            ev = simas.sim_report(self.platform, m, rd(ch, pub, dig))
            st, _, body = self.call("POST", "/as/v1/join", json.dumps(
                {"challenge": simas.b64url(ch), "format": "sim",
                 "evidence": simas.b64url(ev),
                 "pubkey": simas.b64url(pub)}).encode())
            self.assertEqual(st, want, body)
        j = json.loads(body)
        self.assertEqual((j["count"], j["format"]), (1, "sim"))
        wrapped, pev = simas.unb64url(j["keys"]), simas.unb64url(j["evidence"])
        self.assertEqual(len(simas.unwrap(priv, ch, wrapped)), 32)
        # The AS's own evidence: its platform, its build, and report data
        # binding the challenge, the joiner's key, the wrapped key and
        # the policy; the platform's signature verifies.
        self.assertEqual(pev[8:40], ppub)
        self.assertEqual(pev[40:104],
                         simas.join_report_data(ch, pub, wrapped, dig))
        self.assertEqual(pev[104:152], as_m)
        self.platform.public_key().verify(pev[152:], pev[:152])

    def test_5_storage_key_file_kept(self):
        """A sealed storage key file that cannot be read now (here its
        mode) is not replaced by a fresh key: the AS does not start, and
        once the file is readable again its key comes back."""
        path = os.path.join(self.dir, "kept.storage")
        shutil.copy(os.path.join(self.dir, "as.storage"), path)
        os.chmod(path, 0o640)
        with open(path, "rb") as f:
            before = f.read()
        r = subprocess.run(self.argv("kept", "kept.storage"),
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0, r.stderr)
        self.assertIn("the storage key file is kept and the AS does not "
                      "start", r.stderr)
        self.assertNotRegex(r.stderr, r"\] info: a fresh storage key")
        with open(path, "rb") as f:
            self.assertEqual(f.read(), before)
        os.chmod(path, 0o600)
        with open(self.dir + "/kept.log", "w+") as log:
            p = subprocess.Popen(self.argv("kept", "kept.storage"),
                                 stdout=log, stderr=log)
            try:
                for _ in range(100):
                    log.seek(0)
                    text = log.read()
                    if "serving with" in text or p.poll() is not None:
                        break
                    time.sleep(0.05)
            finally:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=15)
        self.assertIn("storage key unsealed from " + path, text)

    def test_4_stop_and_logs(self):
        secret = os.urandom(32)
        self.assertEqual(self.upload(os.urandom(16).hex(), secret)[0], 201)
        # A burst, then the stop: every store handle is closed and
        # SQLite removes its WAL (issue 12: it was left behind).
        import concurrent.futures
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            list(ex.map(lambda i: self.upload(os.urandom(16).hex(),
                                              os.urandom(32)), range(24)))
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(timeout=15), 0)
        self.assertFalse(os.path.exists(self.dir + "/as.db-wal"))
        # The store and the sealed storage key hold no secret.
        for name in ("as.db", "as.storage"):
            with open(os.path.join(self.dir, name), "rb") as f:
                data = f.read()
            for form in (secret, secret.hex().encode(),
                         base64.b64encode(secret)):
                self.assertNotIn(form, data)
        self.log.seek(0)
        log = self.log.read()
        self.assertIn("POST /as/v1/secrets 201", log)
        self.assertIn("POST /as/v1/fetch 413 body_too_large", log)
        self.assertIn("attestation refused: measurement not in the allowlist",
                      log)
        for leak in (TOKEN, base64.b64encode(secret).decode(), secret.hex()):
            self.assertNotIn(leak, log)


if __name__ == "__main__":
    unittest.main(verbosity=2)

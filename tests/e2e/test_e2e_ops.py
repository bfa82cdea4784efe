# SPDX-License-Identifier: ISC
"""Operating the proxies: GET /healthz and GET /metrics through the
shipped lighttpd and Apache configurations, and --config on the worker.

/healthz is not ready without a usable key and ready with one; /metrics
parses as the Prometheus text format 0.0.4 and, after traffic, holds no
prompt text, no reply text and no kid."""

import base64
import json
import math
import os
import re
import shutil
import subprocess
import time
import unittest

import cases
import chain as ch
import pswire

CHAT = cases.CHAT
CGI_FCGI = shutil.which("cgi-fcgi") or "/usr/bin/cgi-fcgi"

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"')


def parse_prometheus(text):
    """Parse the exposition format 0.0.4 strictly enough to catch a bad
    line: {(name, frozenset of labels): value}, and {family: type}."""
    samples, types, helped = {}, {}, set()
    assert text.endswith("\n"), "no final newline"
    for line in text.split("\n")[:-1]:
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            assert _NAME.fullmatch(name), line
            helped.add(name)
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ")
            assert typ in ("counter", "gauge", "histogram", "summary", "untyped"), line
            assert name not in types, "TYPE twice: " + line
            types[name] = typ
            continue
        assert not line.startswith("#") and line.strip(), "bad line %r" % line
        m = _NAME.match(line)
        assert m, line
        name, rest = m.group(0), line[m.end():]
        labels = []
        if rest.startswith("{"):
            end = rest.index("}")
            body = rest[1:end]
            pos = 0
            while pos < len(body):
                lm = _LABEL.match(body, pos)
                assert lm, "labels in %r" % line
                labels.append((lm.group(1), lm.group(2)))
                pos = lm.end()
                if pos < len(body):
                    assert body[pos] == ",", line
                    pos += 1
            rest = rest[end + 1:]
        assert rest.startswith(" "), line
        value = float(rest[1:].split(" ")[0])
        assert not math.isnan(value), line
        fam = name
        for suf in ("_bucket", "_sum", "_count"):
            if name.endswith(suf) and name[:-len(suf)] in types:
                fam = name[:-len(suf)]
        assert fam in types, "sample before its TYPE: " + line
        assert fam in helped, "sample without HELP: " + line
        samples[(name, frozenset(labels))] = value
    return samples, types


def sample(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


class OpsCase(cases.ChainCase):
    def get(self, http, path):
        st, hdrs, data = http.request("GET", path)
        return st, hdrs, data

    def worker_metrics(self):
        st, hdrs, data = self.get(self.chain.worker_http, "/metrics")
        self.assertEqual(st, 200, data)
        self.assertTrue(hdrs["content-type"].startswith("text/plain; version=0.0.4"))
        return data.decode()

    def user_metrics(self):
        st, hdrs, data = self.get(self.user, "/metrics")
        self.assertEqual(st, 200, data)
        return data.decode()

    def test_1_health_follows_the_keys(self):
        c = self.chain
        kid, secret, exp = c.keys[0]
        # The worker holds no key: not ready; the client holds its key and
        # reaches the worker: ready.
        c.write_keys(c.worker_keys, [])
        time.sleep(1.1)
        st, hdrs, data = self.get(c.worker_http, "/healthz")
        self.assertEqual(st, 503, data)
        body = json.loads(data)
        self.assertEqual(body["status"], "not_ready")
        self.assertEqual(body["keys"], 0)
        self.assertTrue(body["upstream"])
        self.assertEqual(hdrs["content-type"], "application/json")
        st, _, data = self.get(self.user, "/healthz")
        self.assertEqual(st, 200, data)
        self.assertEqual(json.loads(data)["status"], "ready")
        # Keys back: ready.
        c.write_keys(c.worker_keys, c.keys)
        time.sleep(1.1)
        st, _, data = self.get(c.worker_http, "/healthz")
        self.assertEqual(st, 200, data)
        body = json.loads(data)
        self.assertEqual(body, {"status": "ready", "keys": 1, "upstream": True})
        for raw in (data, self.get(self.user, "/healthz")[2]):
            self.assertNotIn(kid.hex().encode(), raw)
            self.assertNotIn(secret.hex().encode(), raw)
        # An expired key is not a usable one.
        c.write_keys(c.client_keys, [(kid, secret, int(time.time()) - 5)])
        time.sleep(1.1)
        st, _, data = self.get(self.user, "/healthz")
        self.assertEqual(st, 503, data)
        self.assertEqual(json.loads(data)["keys"], 0)
        c.write_keys(c.client_keys, c.keys)
        time.sleep(1.1)
        self.assertEqual(self.get(self.user, "/healthz")[0], 200)

    def test_2_health_follows_the_next_hop(self):
        c = self.chain
        c.stop_proc("inference")
        try:
            st, _, data = self.get(c.worker_http, "/healthz")
            self.assertEqual(st, 503, data)
            self.assertFalse(json.loads(data)["upstream"])
        finally:
            c.start_inference()
        self.assertEqual(self.get(c.worker_http, "/healthz")[0], 200)

    def test_3_metrics_after_traffic(self):
        prompt = "the secret plan is 7f3a-%s" % os.urandom(6).hex()
        st, _, body = self.post(CHAT, cases.chat(prompt))
        self.assertEqual(st, 200, body)
        st, lines = self.user.stream(CHAT, cases.chat(prompt, stream=True, x_events=4))
        self.assertEqual(st, 200)
        self.assertError(404, "unknown_endpoint", self.post("/v1/nothing", {}))
        kid, secret, _ = self.chain.keys[0]
        forbidden = [prompt, "echo: " + prompt, kid.hex(), secret.hex(),
                     base64.urlsafe_b64encode(kid).decode().rstrip("="),
                     base64.b64encode(kid).decode().rstrip("=")]
        for text in (self.user_metrics(), self.worker_metrics()):
            for f in forbidden:
                self.assertNotIn(f, text)
            samples, types = parse_prometheus(text)
            self.assertEqual(types["promptseal_requests_total"], "counter")
            self.assertEqual(types["promptseal_upstream_latency_seconds"], "histogram")
            self.assertGreaterEqual(sample(samples, "promptseal_requests_total",
                                           endpoint=CHAT, status="200"), 2)
            self.assertGreaterEqual(sample(samples, "promptseal_stream_events_total"), 4)
            self.assertGreaterEqual(sample(samples, "promptseal_streams_total",
                                           result="completed"), 1)
            n = sample(samples, "promptseal_upstream_latency_seconds_count")
            self.assertGreaterEqual(n, 2)
            self.assertEqual(sample(samples, "promptseal_upstream_latency_seconds_bucket",
                                    le="+Inf"), n)
            self.assertEqual(sample(samples, "promptseal_keys"), 1)
            self.assertIsNotNone(sample(samples, "promptseal_key_cache_age_seconds"))
            self.assertEqual(sample(samples, "promptseal_ready"), 1)
        samples, _ = parse_prometheus(self.user_metrics())
        self.assertGreaterEqual(sample(samples, "promptseal_errors_total",
                                       code="unknown_endpoint"), 1)
        self.assertGreaterEqual(sample(samples, "promptseal_requests_total",
                                       endpoint="other", status="404"), 1)

    def test_4_only_get(self):
        st, _, data = self.user.request("POST", "/metrics", b"{}")
        self.assertEqual(st, 405, data)


class OpsLighttpd(OpsCase):
    CHAIN = dict(client_web="lighttpd", worker_web="lighttpd")


class OpsApache(OpsCase):
    CHAIN = dict(client_web="apache", worker_web="apache")


del OpsCase       # run only on the chains above


class OpsWithAs(cases.ChainCase):
    """A client whose keys come from the AS: its health follows its key
    state, and its metrics count uploads and rotations."""

    CHAIN = dict(client_web="lighttpd", worker_web="lighttpd", as_web="lighttpd")

    def test_health_and_uploads(self):
        st, _, body = self.post(CHAT, cases.chat("keys from the AS"))
        self.assertEqual(st, 200, body)
        st, _, data = self.user.request("GET", "/healthz")
        self.assertEqual(st, 200, data)
        self.assertGreaterEqual(json.loads(data)["keys"], 1)
        st, _, data = self.user.request("GET", "/metrics")
        self.assertEqual(st, 200, data)
        text = data.decode()
        self.assertNotIn("keys from the AS", text)
        self.assertNotIn(self.chain.as_token, text)
        samples, _ = parse_prometheus(text)
        self.assertGreaterEqual(sample(samples, "promptseal_key_uploads_total",
                                       result="ok"), 1)
        self.assertIsNotNone(sample(samples, "promptseal_key_rotations_total"))
        self.assertEqual(sample(samples, "promptseal_ready"), 1)
        # No "key cache ... cannot stat" noise from the probes.
        self.assertNotIn("cannot stat", self.chain.log("client.log"))


def fcgi(sock, method, uri, body=b""):
    env = {"REQUEST_METHOD": method, "REQUEST_URI": uri,
           "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json",
           "SERVER_PROTOCOL": "HTTP/1.1", "PATH": "/usr/bin:/bin"}
    r = subprocess.run([CGI_FCGI, "-bind", "-connect", sock], input=body, env=env,
                       capture_output=True, timeout=60)
    head, _, payload = r.stdout.partition(b"\r\n\r\n")
    return int(head.split(b"\r\n")[0].split()[1]), payload


@unittest.skipUnless(os.path.exists(CGI_FCGI), "cgi-fcgi is not installed")
class ConfigFile(unittest.TestCase):
    """--config sets the worker's --max-body; the command line wins."""

    def setUp(self):
        self.c = ch.Chain()
        import tempfile
        self.c.dir = tempfile.mkdtemp(prefix="ps-e2e-conf-")
        os.chmod(self.c.dir, 0o755)
        self.c.own(self.c.dir)
        self.bin = os.path.join(self.c.dir, "promptseal-worker")
        shutil.copy(os.path.join(ch.BUILD, "fcgi-worker", "promptseal-worker"), self.bin)
        self.keys = os.path.join(self.c.dir, "keys.json")
        kid, secret = pswire.new_key()
        self.c.write_keys(self.keys, [(kid, secret, int(time.time()) + 3600)])
        self.c.start_inference()

    def tearDown(self):
        self.c.stop()

    def start(self, name, conf_text, extra=()):
        conf = os.path.join(self.c.dir, name + ".conf")
        with open(conf, "w") as f:
            f.write(conf_text)
        self.c.own(conf)
        sock = os.path.join(self.c.dir, name + ".sock")
        p = self.c._start(name, [self.bin, "--config", conf, "--socket", sock] + list(extra))
        ch.wait_for(lambda: ch.unix_open(sock), name, proc=p)
        return sock

    def conf(self, body):
        return ("# the worker, from a file\n"
                "key-cache = %s\n"
                "upstream unix:%s\n"
                "threads = 2\n"
                "%s\n" % (self.keys, self.c.inference_sock, body))

    def test_max_body_from_file(self):
        sock = self.start("w1", self.conf("max-body = 1K"))
        st, payload = fcgi(sock, "POST", CHAT, b"{" + b" " * 2000 + b"}")
        self.assertEqual(st, 413, payload)
        self.assertEqual(json.loads(payload)["error"]["code"], "body_too_large")
        # A small body gets past the limit (and fails later: no envelope).
        st, payload = fcgi(sock, "POST", CHAT, b"{}")
        self.assertNotEqual(st, 413, payload)

    def test_command_line_wins(self):
        sock = self.start("w2", self.conf("max-body = 1K"), ["--max-body", "8K"])
        st, payload = fcgi(sock, "POST", CHAT, b"{" + b" " * 2000 + b"}")
        self.assertNotEqual(st, 413, payload)

    def test_bad_file_names_the_line(self):
        conf = os.path.join(self.c.dir, "bad.conf")
        with open(conf, "w") as f:
            f.write(self.conf("max-body = lots"))
        r = subprocess.run([self.bin, "--config", conf], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("%s:5: bad value for max-body" % conf, r.stderr)
        with open(conf, "w") as f:
            f.write(self.conf("no-such-key = 1"))
        r = subprocess.run([self.bin, "--config", conf], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn('%s:5: unknown key "no-such-key"' % conf, r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

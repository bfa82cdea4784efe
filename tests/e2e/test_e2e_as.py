# SPDX-License-Identifier: ISC
"""The key exchange of protocol.md section 8 end to end: the client proxy
makes and uploads its secret to promptseal-as behind a real web server
with real TLS (a private CA made at setup), promptseal-keysync attests and
fetches it into the worker's key cache, and the worker decrypts with it.
Nothing is pre-shared."""

import json
import os
import shutil
import signal
import subprocess
import threading
import time
import unittest

import cases
import chain as ch
import pswire
import simas

CHAT = cases.CHAT
chat = cases.chat
CGI_FCGI = shutil.which("cgi-fcgi") or "/usr/bin/cgi-fcgi"


def wire_kid(body):
    """The kid of a request body as it crossed between the proxies."""
    return pswire.wire_kid(body)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def fcgi_post(sock, path, body):
    """POST body to a FastCGI responder through cgi-fcgi (no web server)."""
    env = {"REQUEST_METHOD": "POST", "REQUEST_URI": path, "SCRIPT_NAME": path,
           "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json",
           "SERVER_PROTOCOL": "HTTP/1.1", "PATH": "/usr/bin:/bin"}
    r = subprocess.run([CGI_FCGI, "-bind", "-connect", sock], input=body, env=env,
                       capture_output=True, timeout=60)
    head, _, payload = r.stdout.partition(b"\r\n\r\n")
    return int(head.split(b"\r\n")[0].split()[1]), json.loads(payload)


class AsCase(cases.ChainCase):
    """A chain whose keys go client -> AS -> keysync -> worker."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api = simas.AsApi(cls.chain.as_port, cls.chain.ca)
        cls.secrets = []          # every secret a test met, for the log check

    def state_keys(self):
        keys = pswire.read_keyfile(self.chain.key_state)
        self.secrets.extend(s for _, s, _ in keys)
        return keys

    def worker_keys(self):
        return pswire.read_keyfile(self.chain.worker_keys)

    def assert_nowhere(self, secret, where, texts):
        for form in pswire.secret_forms(secret):
            for t in texts:
                self.assertNotIn(form.encode() if isinstance(t, bytes) else form, t,
                                 "a secret in " + where)

    def assert_round_trip(self):
        c = self.chain
        # Nothing pre-shared: no key file was written for either proxy, and
        # keysync made the worker's cache from what the AS released before
        # the client proxy started.
        self.assertFalse(os.path.exists(c.client_keys))
        updates = [l for l in c.log("keysync.log").splitlines()
                   if "key cache updated" in l]
        self.assertIn("key cache updated: 0 key(s)", updates[0])

        st, _, body = self.post(CHAT, chat("Hello through the AS"))
        self.assertEqual(st, 200, body)
        self.assertEqual(body["choices"][0]["message"]["content"],
                         "echo: Hello through the AS")
        st, lines = self.user.stream(CHAT, chat("and a stream", stream=True))
        self.assertEqual(st, 200)
        self.assertEqual(ch.data_events(lines)[-1], "[DONE]")

        # One key, made by the client: its kid went on the wire, the AS
        # stored it, keysync fetched it into the worker's cache.
        state = self.state_keys()
        self.assertEqual(len(state), 1)
        kid, secret, expires = state[0]
        self.assertEqual({wire_kid(b) for b in c.tamper.requests}, {kid})
        self.assertIn((kid, secret), [(k, s) for k, s, _ in self.worker_keys()])
        self.assertGreater(expires, time.time() + 3000)
        self.assertIn("POST /as/v1/secrets 201", c.log("as.log"))
        self.assertIn("POST /as/v1/fetch 200 released 1 secrets", c.log("as.log"))
        # keysync logs the update after the rename the worker has seen.
        ch.wait_for(lambda: "key cache updated: 1 key(s)" in c.log("keysync.log"),
                    "keysync to log the update")
        # The worker asked keysync for the new kid instead of refusing it.
        self.assertIn("refresh request", c.log("keysync.log"))
        # And nowhere else: not between the proxies, not in any log.
        self.assert_nowhere(secret, "the wire between the proxies",
                            c.tamper.requests + c.tamper.responses)
        self.assert_nowhere(secret, "a log", [c.all_logs()])


class AsLighttpd(AsCase):
    """lighttpd terminates TLS for the AS."""

    CHAIN = dict(as_web="lighttpd", client_web="lighttpd", worker_web="lighttpd")

    def test_1_round_trip(self):
        self.assert_round_trip()

    def test_2_kid_squatting(self):
        # Another client of the AS, with a valid token, knows the kid from
        # the wire and uploads its own secret under it.
        self.post(CHAT, chat("have a key"))
        kid, secret, _ = self.state_keys()[0]
        squat = os.urandom(32)
        self.secrets.append(squat)
        st, j = self.api.upload(kid, squat, token=self.chain.as_token)
        self.assertEqual(st, 409, j)
        self.assertEqual(j["error"]["code"], "kid_exists")
        # The AS still releases the client's own secret under that kid.
        platform = simas.load_platform(self.chain.platform_key)
        st, j, recs = self.api.fetch(platform, bytes.fromhex(self.chain.measurement))
        self.assertEqual(st, 200, j)
        self.assertEqual([s for k, s, _ in recs if k == kid], [secret])
        st, _, body = self.post(CHAT, chat("still mine"))
        self.assertEqual(st, 200, body)

    def test_3_bad_token(self):
        kid, secret = pswire.new_key()
        self.secrets.append(secret)
        st, j = self.api.upload(kid, secret, token="not-the-token-" + "x" * 20)
        self.assertEqual(st, 401, j)
        self.assertEqual(j["error"]["code"], "unauthorized")
        st, j = self.api.upload(kid, secret, token=None)
        self.assertEqual(st, 401, j)
        # Nothing was stored: the kid is free, and only now released.
        platform = simas.load_platform(self.chain.platform_key)
        m = bytes.fromhex(self.chain.measurement)
        st, _, recs = self.api.fetch(platform, m)
        self.assertNotIn(kid, [k for k, _, _ in recs])
        st, j = self.api.upload(kid, secret, ttl=60, token=self.chain.as_token)
        self.assertEqual(st, 201, j)
        st, _, recs = self.api.fetch(platform, m)
        self.assertIn((kid, secret), [(k, s) for k, s, _ in recs])

    @unittest.skipUnless(os.path.exists(CGI_FCGI), "cgi-fcgi is not installed")
    def test_3_bad_token_client(self):
        # A client proxy with a token the AS refuses has no key to use:
        # 503 no_key, and no state file.
        c = self.chain
        bad = c.private_file("bad-token", "wrong-token-0123456789abcdef\n")
        state = os.path.join(c.dir, "bad-state.json")
        sock = os.path.join(c.dir, "client-bad.sock")
        p = c._start("client-bad", [c.client_bin, "--upstream", c.upstream_url]
                     + c.client_key_args(token_file=bad, key_state=state)
                     + ["--socket", sock, "--threads", "2"])
        try:
            ch.wait_for(lambda: ch.unix_open(sock), "client with a bad token", proc=p)
            st, body = fcgi_post(sock, CHAT, json.dumps(chat("no key")).encode())
            self.assertEqual((st, body["error"]["code"]), (503, "no_key"))
            # Its rotation task, failing once a second, stops with it.
            time.sleep(1.5)
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(12), 0)
        finally:
            c.stop_proc("client-bad")
        self.assertFalse(os.path.exists(state))
        self.assertIn("signal 15: stopping", c.log("client-bad.log"))
        self.assertIn("HTTP 401 unauthorized", c.log("client-bad.log"))
        self.assertNotIn("wrong-token-0123456789abcdef", c.all_logs())

    def test_4_replayed_challenge(self):
        ch_ = self.api.challenge()
        priv = simas.new_x25519()
        body = self.api.fetch_body(ch_, priv, simas.load_platform(self.chain.platform_key),
                                   bytes.fromhex(self.chain.measurement))
        st, j = self.api.post("/v1/fetch", body)
        self.assertEqual(st, 200, j)
        # The same evidence again, word for word.
        st, j = self.api.post("/v1/fetch", body)
        self.assertEqual(st, 403, j)
        self.assertEqual(j, {"error": {
            "message": "attestation failed: challenge unknown or already used",
            "type": "invalid_request_error", "code": "attestation_failed"}})

    def refused_keysync(self, why, **kw):
        """keysync --once with wrong settings: refused, nothing written."""
        c = self.chain
        cache = os.path.join(c.dir, "refused-keys.json")
        r = c.run(c.keysync_argv(cache=cache, once=True, **kw))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("HTTP 403 attestation_failed: attestation failed: " + why, r.stderr)
        self.assertFalse(os.path.exists(cache))

    def test_5_untrusted_platform_key(self):
        c = self.chain
        other = os.path.join(c.dir, "other.key")
        subprocess.run([c.sim_bin, "keygen", other, other + ".pub"], check=True)
        c.own(other)
        self.refused_keysync("evidence from an untrusted platform key", platform_key=other)
        st, j = self.api.fetch(simas.load_platform(other),
                               bytes.fromhex(self.chain.measurement))[:2]
        self.assertEqual(st, 403, j)
        self.assertNotIn("keys", j)
        self.assertIn("attestation refused: evidence from an untrusted platform key",
                      c.log("as.log"))

    def test_6_wrong_measurement(self):
        self.refused_keysync("measurement not in the allowlist", measurement="00" * 48)
        st, j = self.api.fetch(simas.load_platform(self.chain.platform_key),
                               os.urandom(48))[:2]
        self.assertEqual(st, 403, j)
        self.assertNotIn("keys", j)

    def with_relay(self):
        c = self.chain
        return ch.AsRelay(c.as_port, c.tls_pem, c.ca)

    def test_7_tampered_wrapped_secret(self):
        # keysync through a relay that changes one bit of the wrapped keys:
        # it refuses them and keeps the cache as it was.
        c = self.chain
        self.post(CHAT, chat("have a key"))
        cache = os.path.join(c.dir, "tampered-keys.json")
        shutil.copy(c.worker_keys, cache)
        c.own(cache)
        before = read_bytes(cache), os.stat(cache).st_mtime_ns
        relay = self.with_relay()
        try:
            relay.mode = "tamper_keys"
            url = "https://localhost:%d/as" % relay.port
            r = c.run(c.keysync_argv(cache=cache, as_url=url, once=True))
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("the AS's wrapped keys do not open or parse", r.stderr)
            self.assertEqual((read_bytes(cache), os.stat(cache).st_mtime_ns), before)
            # The same relay without tampering: the exchange works.
            relay.mode = None
            r = c.run(c.keysync_argv(cache=cache, as_url=url, once=True))
            self.assertEqual(r.returncode, 0, r.stderr)
        finally:
            relay.close()

    def test_7b_forged_storage_key(self):
        # A second AS instance joins through a relay (the web server in
        # front of its peer) that hands it a storage key of its own beside
        # the peer's real evidence: the instance refuses the key and does
        # not start.
        c = self.chain
        relay = self.with_relay()
        try:
            url = "https://localhost:%d/as" % relay.port
            argv = c.as_argv(db="as3.db", storage=os.path.join(
                c.dir, "as3.storage")) + ["--peer", url, "--peer-ca-file", c.ca,
                                          "--socket", os.path.join(c.dir, "as3.sock")]
            relay.mode = "forge_join"
            r = c.run(argv)
            self.assertNotEqual(r.returncode, 0, r.stderr)
            self.assertIn("cannot join the AS at %s: the peer is refused: its "
                          "evidence does not bind" % url, r.stderr)
            self.assertNotIn("serving with", r.stderr)
            self.assertTrue(relay.saw(b"POST /as/v1/join"))
            # The same relay without forging: the instance joins.
            relay.mode = None
            p = c._start("as3", argv)
            ch.wait_for(lambda: "serving with" in c.log("as3.log"), "as3", proc=p)
            self.assertIn("storage key from the AS instance at " + url,
                          c.log("as3.log"))
        finally:
            c.stop_proc("as3")
            relay.close()

    def test_7c_no_core_files(self):
        # Every program keeps its memory (with what libcurl, libfcgi and
        # the C library leave of secrets in freed blocks) out of core
        # files and away from other processes of its user: not dumpable
        # (its /proc files then belong to root) and no core size.
        for name in ("client", "worker", "as", "keysync"):
            pid = self.chain.procs[name].pid
            self.assertEqual(os.stat("/proc/%d/environ" % pid).st_uid, 0, name)
            with open("/proc/%d/limits" % pid) as f:
                core = [l.split()[4:6] for l in f if l.startswith("Max core file size")]
            self.assertEqual(core, [["0", "0"]], name)

    def test_8_no_secret_between_as_and_keysync(self):
        # Every byte between keysync and the AS, as it travels inside TLS:
        # the secrets are in it only wrapped.
        c = self.chain
        self.post(CHAT, chat("have a key"))
        secrets = [s for _, s, _ in self.state_keys()]
        cache = os.path.join(c.dir, "recorded-keys.json")
        relay = self.with_relay()
        try:
            url = "https://localhost:%d/as" % relay.port
            r = c.run(c.keysync_argv(cache=cache, as_url=url, once=True))
            self.assertEqual(r.returncode, 0, r.stderr)
            wire = list(relay.wire)
        finally:
            relay.close()
        self.assertEqual(len(wire), 4)      # challenge and fetch, each way
        got = {k: s for k, s, _ in pswire.read_keyfile(cache)}
        for s in secrets:
            self.assertIn(s, got.values())
            self.assert_nowhere(s, "the wire between keysync and the AS", wire)
        fetch = json.loads(wire[3].split(b"\r\n\r\n", 1)[1])
        self.assertEqual(set(fetch), {"count", "keys"})

    def test_8b_the_as_lost_the_key(self):
        # The AS loses its store; the worker then holds another client's
        # key but not ours, and answers unknown_key: the client uploads
        # its key again and retries, and the request goes through.
        c = self.chain
        self.post(CHAT, chat("have a key"))
        kid = self.state_keys()[0][0]
        c.restart_as_empty()
        other, secret = pswire.new_key()
        self.secrets.append(secret)
        st, j = self.api.upload(other, secret, token=c.as_token)
        self.assertEqual(st, 201, j)
        c.keysync_now()
        ch.wait_for(lambda: [k for k, _, _ in self.worker_keys()] == [other],
                    "keysync to fetch the AS's new content")
        st, _, body = self.post(CHAT, chat("after the AS lost the key"))
        # The logs hold no secret (test_9): on a failure they tell which
        # of upload, fetch and reload came too late.
        self.assertEqual(st, 200, "%r%s" % (body, "".join(
            "\n--- %s\n%s" % (n, "\n".join(c.log(n).splitlines()[-15:]))
            for n in ("client.log", "worker.log", "keysync.log", "as.log"))))
        self.assertEqual(self.state_keys()[0][0], kid)
        self.assertIn("the worker does not know the key: uploading it again",
                      c.log("client.log"))
        after = c.log("as.log").rsplit("serving /as/v1 with", 1)[1]
        self.assertEqual(after.count("POST /as/v1/secrets 201"), 2)
        self.assertIn(kid, [k for k, _, _ in self.worker_keys()])

    def test_8c_forged_unknown_key_runs_once(self):
        # A relay passes a request on, hides the reply and says, as the
        # worker would, that the key is unknown (then the same for the
        # retry): the client uploads its key again and sends the very same
        # sealed bytes, which the worker refuses as replayed.  The request
        # ran once; a relay can make it fail but not run twice.
        c = self.chain
        for code in ("unknown_key", "no_key"):
            self.post(CHAT, chat("have a key"))
            before, seen = len(c.recorded()), len(c.tamper.requests)
            c.tamper.mode, c.tamper.arg = "hide_reply", (
                422 if code == "unknown_key" else 503, code)
            try:
                r = self.post(CHAT, chat("run me once"))
            finally:
                c.tamper.reset()
            self.assertError(422 if code == "unknown_key" else 503, code, r)
            self.assertEqual(len(c.recorded()), before + 1)
            sent = c.tamper.requests[seen:]
            self.assertEqual(len(sent), 2)
            self.assertEqual(sent[0], sent[1])

    def test_9_logs_hold_no_secret(self):
        c = self.chain
        time.sleep(0.3)
        logs = c.all_logs()
        self.assertTrue(self.secrets)
        for s in self.secrets + [s for _, s, _ in self.state_keys()]:
            self.assert_nowhere(s, "a log", [logs])
        self.assertNotIn(c.as_token, logs)


class AsApache(AsCase):
    """Apache terminates TLS for the AS (and fronts the client)."""

    CHAIN = dict(as_web="apache", client_web="apache", worker_web="lighttpd")

    def test_round_trip(self):
        self.assert_round_trip()


class Rotation(AsCase):
    """Keys rotate every few seconds under continuous load, in two client
    processes that share one key state file: not one request fails."""

    # lighttpd starts two client processes (client-as-binpath.conf).
    CHAIN = dict(as_web="lighttpd", client_web="lighttpd-binpath",
                 worker_web="lighttpd", key_ttl=9)

    def test_rotation_under_load(self):
        c = self.chain
        end = time.monotonic() + 18
        failures, done = [], []
        seen = {}                  # kid -> secret, from the state file

        def load(i):
            n = 0
            while time.monotonic() < end:
                n += 1
                text = "load %d %d" % (i, n)
                try:
                    if n % 2:
                        st, _, body = self.post(CHAT, chat(text))
                        ok = st == 200 and \
                            body["choices"][0]["message"]["content"] == "echo: " + text
                        what = (st, body)
                    else:
                        st, lines = self.user.stream(CHAT, chat(text, stream=True,
                                                                x_events=3))
                        ev = ch.data_events(lines)
                        got = "".join(json.loads(e)["choices"][0]["delta"].get("content")
                                      or "" for e in ev[:-1] if json.loads(e)["choices"])
                        ok = st == 200 and ev[-1] == "[DONE]" and got == "echo: " + text
                        what = (st, ev[-2:])
                except Exception as e:      # a broken connection is a failure too
                    ok, what = False, repr(e)
                (done if ok else failures).append(what)

        def watch():
            while time.monotonic() < end:
                try:
                    for k, s, _ in self.state_keys():
                        seen[k] = s
                except (OSError, ValueError):
                    pass
                time.sleep(0.2)

        def operator():
            # Under the load: the AS restarts (its storage key comes back
            # from the sealed file), and a second AS instance joins the
            # first and shares its store.
            time.sleep(5)
            c.stop_proc("as")
            c.start_as(web=False)
            time.sleep(3)
            c._spawn("as2", self.as2_sock, c.as_argv(storage=os.path.join(
                c.dir, "as2.storage")) + ["--peer", c.as_url, "--peer-ca-file",
                                         c.ca])

        self.as2_sock = os.path.join(c.dir, "as2.sock")
        threads = [threading.Thread(target=load, args=(i,)) for i in range(4)]
        threads.append(threading.Thread(target=watch))
        threads.append(threading.Thread(target=operator))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(failures[:5], [])
        self.assertGreater(len(done), 40)
        kids = {wire_kid(b) for b in c.tamper.requests}
        self.assertGreaterEqual(len(kids), 3, kids)
        # Each kid on the wire is a key of the shared state file.
        self.assertLessEqual(kids, set(seen))
        # The two processes rotated together, not each on its own: every
        # upload is a key that went into use (the last may not have yet).
        # lighttpd hands its own stderr to the processes it starts.
        client_logs = c.log("web-client.log")
        pids = {l.split("promptseal-client[")[1].split("]")[0]
                for l in client_logs.splitlines() if "serving with" in l}
        self.assertEqual(len(pids), 2, client_logs[-2000:])
        uploads = c.log("as.log").count("POST /as/v1/secrets 201")
        self.assertLessEqual(uploads, len(kids) + 1)
        # The worker asked keysync for the new kids as they came.
        self.assertIn("refresh request", c.log("keysync.log"))
        logs = c.all_logs()
        for s in seen.values():
            self.assert_nowhere(s, "a log", [logs])
            self.assert_nowhere(s, "the wire between the proxies",
                                c.tamper.requests + c.tamper.responses)
        # The restarted AS kept its secrets: its storage key came back
        # from the sealed file, and it released keys it stored before.
        self.assertIn("storage key unsealed from", c.log("as.log"))
        # The second instance joined the first, attested, and opens the
        # secrets of the shared store with the storage key it was given.
        self.assertIn("storage key from the AS instance at", c.log("as2.log"))
        self.assertIn("POST /as/v1/join 200 storage key to an AS instance",
                      c.log("as.log"))
        # The keys the clients hold now (a rotation may add one after
        # this; that one need not be in the fetch).
        live = {k: s for k, s, e in self.state_keys() if e > time.time() + 2}
        ch_ = self.fcgi_challenge(self.as2_sock)
        priv = simas.new_x25519()
        st, j = fcgi_post(self.as2_sock, "/as/v1/fetch", simas.AsApi.fetch_body(
            ch_, priv, simas.load_platform(c.platform_key),
            bytes.fromhex(c.measurement)))
        self.assertEqual(st, 200, j)
        got = {k: s for k, s, _ in
               simas.records(simas.unwrap(priv, ch_, simas.unb64url(j["keys"])))}
        self.assertTrue(live)
        for k, s in live.items():
            self.assertEqual(got.get(k), s, k.hex())
        self.rogue_operator_reads_everything(list(seen.values()))

    @staticmethod
    def fcgi_challenge(sock):
        st, j = fcgi_post(sock, "/as/v1/challenge", b"")
        assert st == 200, (st, j)
        return simas.unb64url(j["challenge"])

    def rogue_operator_reads_everything(self, secrets):
        """Every file of the AS (its store, WAL and shared memory, the
        sealed storage keys, every log) after a run with rotation: no
        client secret in any encoding."""
        c = self.chain
        names = [n for n in os.listdir(c.dir)
                 if n.startswith("as") or n.endswith(".log")]
        self.assertIn("as.db", names)
        self.assertIn("as.storage", names)
        blobs = []
        for n in names:
            p = os.path.join(c.dir, n)
            if os.path.isfile(p) and n != "as-policy":
                blobs.append(read_bytes(p))
        self.assertTrue(secrets)
        for s in secrets:
            forms = [s] + [f.encode() for f in pswire.secret_forms(s)]
            for b in blobs:
                for f in forms:
                    self.assertNotIn(f, b)


class RogueWorkerMeasurement(AsCase):
    """The AS's operator adds a worker measurement of its own: the client
    refuses the AS (it uploads nothing, requests get 503 no_key and its
    log says why), and a worker with the rogue measurement gets nothing."""

    ROGUE = "ab" * 48
    CHAIN = dict(as_web="lighttpd", as_args=["--measurement", "ab" * 48])
    WHY = "the AS allows worker measurement " + "ab" * 48

    def test_client_refuses(self):
        c = self.chain
        st, _, body = self.post(CHAT, chat("must not be sent"))
        self.assertEqual(st, 503, body)
        self.assertEqual(body["error"]["code"], "no_key")
        ch.wait_for(lambda: self.WHY in c.log("client.log"),
                    "the client to log why")
        self.assertNotIn("POST /as/v1/secrets", c.log("as.log"))
        self.assertIn("POST /as/v1/attest 200", c.log("as.log"))
        self.assertFalse(os.path.exists(c.key_state))
        # A worker claiming the rogue measurement: nothing to release.
        cache = os.path.join(c.dir, "rogue-keys.json")
        r = c.run(c.keysync_argv(cache=cache, once=True,
                                 measurement=self.ROGUE))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(pswire.read_keyfile(cache), [])
        # Once the user's policy accepts the new build, the upload goes.
        c.write_policy("worker-measurement %s\n" % self.ROGUE)
        ch.wait_for(lambda: self.post(CHAT, chat("now accepted"))[0] == 200,
                    "the client to accept the AS", timeout=15)


class RogueRestart(AsCase):
    """The operator restarts the AS with a worker measurement of its own
    after clients uploaded: the sealed storage key does not open under the
    new policy, so what the store holds stays sealed, and a worker with
    the rogue measurement gets nothing."""

    CHAIN = dict(as_web="lighttpd")

    def test_secrets_stay_sealed(self):
        c = self.chain
        st, _, body = self.post(CHAT, chat("uploaded before"))
        self.assertEqual(st, 200, body)
        rogue = "cd" * 48
        c.as_args = c.as_args + ["--measurement", rogue]
        c.stop_proc("as")
        c.start_as(web=False)
        self.assertIn("a fresh storage key is made", c.log("as.log"))
        cache = os.path.join(c.dir, "rogue-keys.json")
        r = c.run(c.keysync_argv(cache=cache, once=True, measurement=rogue))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(pswire.read_keyfile(cache), [])
        self.assertIn("does not open under the storage key", c.log("as.log"))


class RoguePlatformKey(RogueWorkerMeasurement):
    """... or a platform key of its own."""

    CHAIN = dict(as_web="lighttpd")
    WHY = "the AS trusts platform key"

    @classmethod
    def setUpClass(cls):
        # The chain's AS is started with a second platform key made here.
        import chain as chain_mod
        orig = chain_mod.Chain.setup_as

        def setup_as(self):
            orig(self)
            k, p = os.path.join(self.dir, "rogue.key"), os.path.join(self.dir, "rogue.pub")
            subprocess.run([self.sim_bin, "keygen", k, p], check=True,
                           capture_output=True)
            self.own(k)
            self.own(p)
            self.rogue_pub = p
            self.as_args = self.as_args + ["--platform-key", p]
        chain_mod.Chain.setup_as = setup_as
        try:
            super().setUpClass()
        finally:
            chain_mod.Chain.setup_as = orig

    def test_client_refuses(self):
        c = self.chain
        st, _, body = self.post(CHAT, chat("must not be sent"))
        self.assertEqual(st, 503, body)
        self.assertEqual(body["error"]["code"], "no_key")
        ch.wait_for(lambda: self.WHY in c.log("client.log"),
                    "the client to log why")
        self.assertNotIn("POST /as/v1/secrets", c.log("as.log"))
        # Accepting the key in the user's policy lets the upload go.
        c.write_policy("platform-key sim %s\n" % c.platform_pub_hex(c.rogue_pub))
        ch.wait_for(lambda: self.post(CHAT, chat("now accepted"))[0] == 200,
                    "the client to accept the AS", timeout=15)


class ImpostorAs(RogueWorkerMeasurement):
    """An AS behind the same valid TLS certificate whose evidence is signed
    by a platform the user does not trust (and claims the right build):
    the client refuses it."""

    CHAIN = dict(as_web="lighttpd")
    WHY = "the AS is refused: evidence from an untrusted platform key"

    @classmethod
    def setUpClass(cls):
        import chain as chain_mod
        orig = chain_mod.Chain.setup_as

        def setup_as(self):
            orig(self)
            k, p = os.path.join(self.dir, "imp.key"), os.path.join(self.dir, "imp.pub")
            subprocess.run([self.sim_bin, "keygen", k, p], check=True,
                           capture_output=True)
            self.own(k)
            self.as_args = self.as_args + ["--attest-key", k]
        chain_mod.Chain.setup_as = setup_as
        try:
            super().setUpClass()
        finally:
            chain_mod.Chain.setup_as = orig

    def test_client_refuses(self):
        c = self.chain
        st, _, body = self.post(CHAT, chat("must not be sent"))
        self.assertEqual(st, 503, body)
        ch.wait_for(lambda: self.WHY in c.log("client.log"),
                    "the client to log why")
        self.assertNotIn("POST /as/v1/secrets", c.log("as.log"))


class AsDown(AsCase):
    """The AS's web server stops: workers keep serving with their cached
    keys and clients with their current key until it expires; then the
    client answers no_key.  When the AS is back, so is the service."""

    CHAIN = dict(as_web="lighttpd", key_ttl=8, keysync_args=["--interval", "1"])

    def test_as_down(self):
        c = self.chain
        st, _, body = self.post(CHAT, chat("before the outage"))
        self.assertEqual(st, 200, body)
        c.stop_proc("web-as")
        cache = read_bytes(c.worker_keys)
        (kid, _, expires), = self.state_keys()
        results = []
        while time.time() < expires + 4:
            t0 = time.time()
            r = self.post(CHAT, chat("during the outage"))
            results.append((t0, time.time(), r))
            time.sleep(0.2)
        for t0, t1, r in results:
            if t1 < expires:
                self.assertEqual(r[0], 200, r)
            elif t0 >= expires + 1:
                self.assertError(503, "no_key", r)
        self.assertGreater(len([r for r in results if r[1] < expires]), 3)
        self.assertGreater(len([r for r in results if r[0] >= expires + 1]), 3)
        # The client tried to rotate and kept its key; keysync kept the cache.
        self.assertEqual(self.state_keys()[0][0], kid)
        self.assertEqual(read_bytes(c.worker_keys), cache)
        self.assertIn("key rotation failed", c.log("client.log"))
        self.assertIn("the key cache stays as it is", c.log("keysync.log"))

        c._web("as", c.as_web, c.as_port)
        deadline = time.monotonic() + 30
        while True:
            st, _, body = self.post(CHAT, chat("after the outage"))
            if st == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(st, 200, body)
        self.assertNotEqual(self.state_keys()[0][0], kid)
        self.assertIn("key rotation works again", c.log("client.log"))


if __name__ == "__main__":
    unittest.main(verbosity=2)

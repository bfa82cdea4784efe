# SPDX-License-Identifier: ISC
"""Faults: parts of the chain die, stall, slow down or answer garbage,
files go bad, and callers hold resources.  Each case asserts that nothing
is lost (the next request works, every reply that arrives is whole), that
no plaintext crosses between the proxies, and that the user gets a clear
error of protocol.md section 6."""

import json
import os
import signal
import socket
import threading
import time
import unittest

import cases
import chain as ch
import pswire

CHAT = cases.CHAT
chat = cases.chat


def kill_hard(p):
    """SIGKILL the process group of p, as a crash would end it."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait(10)


class FaultCase(cases.ChainCase):
    def assertNoPlaintext(self, *needles):
        t = self.chain.tamper
        for n in needles:
            self.assertFalse(t.saw(n.encode()), n)

    def assertWorks(self, text="after the fault"):
        st, _, body = self.post(CHAT, chat(text))
        self.assertEqual(st, 200, body)
        self.assertEqual(body["choices"][0]["message"]["content"], "echo: " + text)


class KeyWaiters(FaultCase):
    """Requests naming a kid nobody has cannot hold every worker thread:
    at most --key-waiters kids are waited for, requests for others are
    answered at once, so a legitimate request is served while they wait."""

    # No keysync listens on this socket: every unknown kid waits the whole
    # --key-wait.  Four threads: the default is two kids waited for.
    CHAIN = dict(worker_args=["--keysync-notify", "/nonexistent/keysync.sock",
                              "--key-wait", "6000"])

    def unknown_kid(self, text):
        return pswire.seal_request(os.urandom(32), os.urandom(16), os.urandom(16),
                                   CHAT, json.dumps(chat(text)).encode())

    def test_unknown_kids_do_not_delay_a_legitimate_request(self):
        done, lock = [], threading.Lock()

        def unknown(i):
            r = self.chain.worker_http.json("POST", CHAT, self.unknown_kid("u%d" % i),
                                            timeout=60)
            with lock:
                done.append(("unknown", r[0], cases.error_code(r[2])))

        held = [threading.Thread(target=unknown, args=(i,)) for i in range(4)]
        for th in held:
            th.start()
        # Let them reach the worker; the assertions below are on order.
        time.sleep(0.5)
        st, _, body = self.post(CHAT, chat("legitimate"), timeout=60)
        with lock:
            done.append(("legitimate", st, None))
            before = len(done) - 1
        for th in held:
            th.join(60)
        self.assertEqual(st, 200, body)
        self.assertEqual(body["choices"][0]["message"]["content"], "echo: legitimate")
        self.assertEqual(len(done), 5)
        # Every unknown kid gets unknown_key; two of them still waited
        # when the legitimate request was answered, the other two were
        # answered at once.
        self.assertEqual([d[1:] for d in done if d[0] == "unknown"],
                         [(422, "unknown_key")] * 4)
        self.assertEqual(before, 2, done)
        self.assertEqual([d[0] for d in done[-2:]], ["unknown", "unknown"], done)
        self.assertIn("--key-waiters", self.chain.log("worker.log"))


class InferenceFaults(FaultCase):
    """The inference server dies, stalls, crawls or answers garbage."""

    CHAIN = dict(worker_args=["--upstream-timeout", "2"])

    def tearDown(self):
        p = self.chain.procs.get("inference")
        if p is None or p.poll() is not None:
            self.chain.procs.pop("inference", None)
            self.chain.start_inference()

    def stream_in_thread(self, body):
        out = {}

        def run():
            out["r"] = self.user.stream(CHAT, body, timeout=60)
        th = threading.Thread(target=run)
        th.start()
        return th, out

    def assertStreamError(self, lines, code, text):
        """The stream ended in one error event of code, without [DONE],
        after content that is a prefix of the true reply."""
        events = ch.data_events(lines)
        self.assertNotIn("[DONE]", events)
        last = json.loads(events[-1])
        self.assertEqual(last["error"]["code"], code, events[-3:])
        got = "".join(json.loads(e)["choices"][0]["delta"].get("content") or ""
                      for e in events[:-1] if json.loads(e).get("choices"))
        self.assertTrue(("echo: " + text).startswith(got), got)

    def test_killed_mid_stream(self):
        text = "a stream the server dies in"
        th, out = self.stream_in_thread(chat(text, stream=True, x_events=10,
                                             x_delay_ms=300))
        time.sleep(1.0)
        kill_hard(self.chain.procs["inference"])
        th.join(60)
        st, lines = out["r"]
        self.assertEqual(st, 200)
        self.assertStreamError(lines, "upstream_unavailable", text)
        self.assertNoPlaintext(text, "echo:")
        self.chain.procs.pop("inference")
        self.chain.start_inference()
        self.assertWorks()

    def test_killed_mid_typed_stream(self):
        # A Responses stream (typed events, no [DONE]) whose inference
        # server dies: the user gets the events sent so far and then one
        # error event named "error", never response.completed.
        text = "a typed stream the server dies in"
        out = {}
        th = threading.Thread(target=lambda: out.update(r=self.user.stream(
            "/v1/responses", {"model": "test-model", "input": text,
                              "stream": True, "x_events": 10,
                              "x_delay_ms": 300}, timeout=60)))
        th.start()
        time.sleep(1.0)
        kill_hard(self.chain.procs["inference"])
        th.join(60)
        st, lines = out["r"]
        self.assertEqual(st, 200)
        names = [l[6:].strip() for _, l in lines if l.startswith("event:")]
        self.assertIn("response.created", names)
        self.assertNotIn("response.completed", names)
        self.assertEqual(names[-1], "error")
        last = json.loads(ch.data_events(lines)[-1])
        self.assertEqual(last["error"]["code"], "upstream_unavailable")
        self.assertNoPlaintext(text, "response.created")
        self.chain.procs.pop("inference")
        self.chain.start_inference()
        self.assertWorks()

    def test_killed_mid_reply(self):
        text = "a reply the server dies in"
        th = threading.Thread(target=lambda: out.update(r=self.post(
            CHAT, chat(text, x_hang_ms=8000), timeout=60)))
        out = {}
        th.start()
        time.sleep(1.0)
        kill_hard(self.chain.procs["inference"])
        th.join(60)
        self.assertError(502, "upstream_unavailable", out["r"])
        self.assertNoPlaintext(text, "echo:")
        self.chain.procs.pop("inference")
        self.chain.start_inference()
        self.assertWorks()

    def test_stalled_before_the_reply(self):
        self.assertError(504, "upstream_timeout",
                         self.post(CHAT, chat("stalled", x_first_delay_ms=6000)))
        self.assertWorks()

    def test_stalled_mid_reply(self):
        self.assertError(504, "upstream_timeout",
                         self.post(CHAT, chat("stalled half way", x_hang_ms=6000)))
        self.assertNoPlaintext("stalled half way")
        self.assertWorks()

    def test_stalled_mid_stream(self):
        text = "a stream that stalls"
        st, lines = self.user.stream(CHAT, chat(text, stream=True, x_events=3,
                                                x_delay_ms=6000), timeout=60)
        self.assertEqual(st, 200)
        self.assertStreamError(lines, "upstream_timeout", text)
        self.assertWorks()

    def test_slow_reply_arrives_whole(self):
        # One byte every 20 ms: never silent for --upstream-timeout, so
        # the whole reply comes, sealed, and nothing of it is lost.
        text = "slowly now"
        st, _, body = self.post(CHAT, chat(text, x_slow_ms=20), timeout=60)
        self.assertEqual(st, 200, body)
        self.assertEqual(body["choices"][0]["message"]["content"], "echo: " + text)
        self.assertNoPlaintext(text, "echo:")

    def test_one_byte_a_second(self):
        # One byte a second for four seconds, twice --upstream-timeout in
        # all: the timeout is one of silence, not of the whole reply, so
        # an inference server that is slow but alive is waited for.  (Only
        # the first bytes are paced: a whole reply at this rate would take
        # minutes.)
        text = "one byte a second"
        t0 = time.monotonic()
        st, _, body = self.post(CHAT, chat(text, x_slow_ms=1000,
                                           x_slow_bytes=5), timeout=60)
        self.assertGreaterEqual(time.monotonic() - t0, 4.0)
        self.assertEqual(st, 200, body)
        self.assertEqual(body["choices"][0]["message"]["content"], "echo: " + text)
        self.assertNoPlaintext(text, "echo:")

    def test_garbage(self):
        self.assertError(502, "bad_upstream_response",
                         self.post(CHAT, chat("garbage", x_garbage=True)))
        self.assertNoPlaintext("not json")
        self.assertWorks()

    def test_two_mib_of_non_json(self):
        r = self.post(CHAT, chat("big garbage", x_big_garbage=True), timeout=60)
        self.assertError(502, "bad_upstream_response", r)
        self.assertNoPlaintext("<not json>", "xxxxxxxx")
        self.assertWorks()


class UserGoesAway(FaultCase):
    """A user who disconnects mid-stream frees both proxies' threads: with
    more such users than threads, the next request is still served."""

    def test_disconnect_mid_stream(self):
        body = json.dumps(chat("long stream", stream=True, x_events=1000,
                               x_delay_ms=100)).encode()
        # Twice the threads of either proxy (4), each stream 100 s long.
        for _ in range(8):
            s = socket.create_connection(("127.0.0.1", self.chain.client_port))
            s.sendall(b"POST " + CHAT.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/json\r\nContent-Length: " +
                      str(len(body)).encode() + b"\r\n\r\n" + body)
            got = b""
            while b"data:" not in got:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
            self.assertIn(b"data:", got)
            s.close()
        # Every thread would still be busy for 100 s if the disconnects
        # went unnoticed: this request would time out.
        self.assertWorks("after the users left")
        st, lines = self.user.stream(CHAT, chat("a stream after", stream=True))
        self.assertEqual(ch.data_events(lines)[-1], "[DONE]")


class KeyCacheFaults(FaultCase):
    """The worker's key cache goes bad: the worker keeps the keys it has,
    says why in its log, and takes a good file again."""

    def setUp(self):
        super().setUp()
        with open(self.chain.worker_keys, "rb") as f:
            self.good = f.read()

    def tearDown(self):
        p = self.chain.worker_keys
        if os.path.islink(p) or os.path.exists(p):
            os.unlink(p)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(self.good)
        self.chain.own(p)
        time.sleep(1.1)

    def replace_with(self, data):
        p = self.chain.worker_keys
        tmp = p + ".new"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        self.chain.own(tmp)
        os.rename(tmp, p)
        time.sleep(1.1)

    def check_kept(self, why):
        self.assertWorks("with the old keys")
        self.assertIn(why, self.chain.log("worker.log"))

    def test_corrupted(self):
        self.replace_with(self.good.replace(b'"version"', b'"versiom"'))
        self.check_kept("key cache")

    def test_truncated(self):
        self.replace_with(self.good[:len(self.good) // 2])
        self.check_kept("not valid JSON")

    def test_symlink(self):
        p = self.chain.worker_keys
        real = os.path.join(self.chain.dir, "elsewhere.json")
        fd = os.open(real, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(self.good)
        self.chain.own(real)
        os.unlink(p)
        os.symlink(real, p)
        time.sleep(1.1)
        self.check_kept("symbolic link")


class WorkerKilledUnderLoad(FaultCase):
    """The worker dies with requests in flight: the user gets clean
    errors, never a partial or unsealed reply, and once it is back every
    request succeeds."""

    def test_worker_killed(self):
        stop, results, lock = threading.Event(), [], threading.Lock()

        def load(i):
            n = 0
            while not stop.is_set():
                text = "load %d %d" % (i, n)
                r = self.post(CHAT, chat(text), timeout=60)
                with lock:
                    results.append((time.monotonic(), text, r))
                n += 1

        threads = [threading.Thread(target=load, args=(i,)) for i in range(4)]
        for th in threads:
            th.start()
        time.sleep(1.0)
        kill_hard(self.chain.procs["worker"])
        time.sleep(1.0)
        self.chain.procs.pop("worker")
        self.chain.start_worker()
        back = time.monotonic()
        # The worker's web server may take the backend as down for a
        # while: recovered means a run of successes, by every user.
        deadline = back + 30
        while time.monotonic() < deadline:
            with lock:
                tail = results[-12:]
            if len(tail) == 12 and all(r[2][0] == 200 for r in tail) and \
                    tail[0][0] > back:
                break
            time.sleep(0.2)
        stop.set()
        for th in threads:
            th.join(60)
        ok = errors = 0
        for t, text, (st, hdrs, body) in results:
            if st == 200:
                ok += 1
                self.assertEqual(body["choices"][0]["message"]["content"],
                                 "echo: " + text)
            else:
                errors += 1
                self.assertIn(st, (502, 503, 504), body)
                # The worker's web server answers for a dead worker
                # with a page of its own: not sealed, so the client says
                # bad_upstream_response, never shows it.
                self.assertIn(cases.error_code(body),
                              ("upstream_unavailable", "upstream_timeout",
                               "bad_upstream_response"))
                self.assertEqual(set(body["error"]), {"message", "type", "code"})
        self.assertGreater(errors, 0)
        # It recovered: the last dozen requests, all sent after the
        # worker was back, succeeded.
        tail = results[-12:]
        self.assertTrue(all(t > back and r[0] == 200 for t, _, r in tail),
                        [r[0] for _, _, r in results[-30:]])
        self.assertNoPlaintext("load 0", "echo:")


class AsFaults(FaultCase):
    """The key path breaks: keysync dies, the AS goes away, the disk is
    full when keysync writes the cache.  The worker keeps its keys and
    serves; once things are back, so are fetches.  (Written against the
    AS API of docs/as-api.md as it is now.)"""

    CHAIN = dict(as_web="lighttpd", keysync_args=["--interval", "1"])

    def cache(self):
        with open(self.chain.worker_keys, "rb") as f:
            return f.read()

    def test_keysync_killed_and_restarted(self):
        c = self.chain
        self.assertWorks("before")
        before = self.cache()
        kill_hard(c.procs.pop("keysync"))
        self.assertWorks("without keysync")
        self.assertEqual(self.cache(), before)
        n = c.log("keysync.log").count("key cache")
        c.start_keysync()
        ch.wait_for(lambda: c.log("keysync.log").count("key cache") > n,
                    "keysync's first fetch after the restart", timeout=20)
        c.keysync_now()
        self.assertWorks("after keysync came back")
        self.assertTrue(pswire.read_keyfile(c.worker_keys))

    def test_as_down_and_restarted(self):
        c = self.chain
        self.assertWorks("before")
        before = self.cache()
        c.stop_proc("as")
        ch.wait_for(lambda: "the key cache stays as it is" in c.log("keysync.log"),
                    "keysync to notice", timeout=20)
        self.assertWorks("while the AS is down")
        self.assertEqual(self.cache(), before)
        c.start_as(web=False)
        n = c.log("keysync.log").count("key cache updated") + \
            c.log("keysync.log").count("key cache unchanged")
        ch.wait_for(lambda: c.log("keysync.log").count("key cache updated") +
                    c.log("keysync.log").count("key cache unchanged") > n,
                    "a fetch after the AS is back", timeout=20)
        self.assertWorks("after the AS came back")

    def test_as_answering_garbage(self):
        import http.server
        import ssl
        c = self.chain

        class Garbage(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                body = b"<html>not the AS</html>" * 1000
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Garbage)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(c.tls_pem)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        th = threading.Thread(target=srv.serve_forever, daemon=True)
        th.start()
        before = self.cache()
        try:
            url = "https://localhost:%d/as" % srv.server_address[1]
            r = c.run(c.keysync_argv(cache=c.worker_keys, as_url=url, once=True))
        finally:
            srv.shutdown()
            srv.server_close()
        self.assertNotEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stderr.strip(), "keysync said nothing")
        self.assertNotIn("not the AS", r.stderr)
        self.assertEqual(self.cache(), before)
        self.assertWorks("the cache stayed as it was")

    def test_disk_full_while_writing_the_cache(self):
        import resource
        import subprocess
        c = self.chain
        before = self.cache()
        # Another cache file, so the fetch has something to write: the
        # running keysync keeps the real one.
        path = os.path.join(c.dir, "full-keys.json")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(b'{"version": 1, "keys": []}\n')
        c.own(path)
        with open(path, "rb") as f:
            old = f.read()

        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))
        kw = {}
        if c.user:
            kw = dict(user=c.user.pw_uid, group=c.user.pw_gid, extra_groups=[])
        r = subprocess.run(c.keysync_argv(cache=path, once=True), cwd=c.dir,
                           capture_output=True, text=True, timeout=60,
                           preexec_fn=limit, **kw)
        self.assertNotEqual(r.returncode, 0, r.stderr)
        self.assertIn("File too large", r.stderr)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), old)
        self.assertEqual([n for n in os.listdir(c.dir) if ".tmp." in n], [])
        self.assertEqual(self.cache(), before)
        self.assertWorks("the worker's cache was never touched")


class PlainUpstream(unittest.TestCase):
    """An http:// worker off loopback would carry the user's Authorization
    header in clear: the client refuses to start unless told so."""

    def start_client(self, d, *args):
        import subprocess
        keys = os.path.join(d, "keys.json")
        kid, secret = pswire.new_key()
        pswire.write_keyfile(keys, [(kid, secret, int(time.time()) + 3600)], 0o600)
        return subprocess.Popen(
            [os.path.join(ch.BUILD, "fcgi-client", "promptseal-client"),
             "--key-file", keys, "--socket", os.path.join(d, "c.sock")] + list(args),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)

    def test_refused_off_loopback(self):
        import tempfile
        for url in ("http://192.0.2.1:8080", "http://worker.example",
                    "http://127.0.0.1@worker.example"):
            with tempfile.TemporaryDirectory() as d:
                p = self.start_client(d, "--upstream", url)
                out, err = p.communicate(timeout=10)
            self.assertEqual(p.returncode, 2, err)
            self.assertIn("Authorization header would travel in clear", err)
            self.assertIn("--allow-plain-upstream", err)

    def test_allowed_on_loopback_or_when_told(self):
        import tempfile
        for args in (["--upstream", "http://127.0.0.1:9"],
                     ["--upstream", "http://[::1]:9"],
                     ["--upstream", "http://192.0.2.1:9", "--allow-plain-upstream"]):
            with tempfile.TemporaryDirectory() as d:
                p = self.start_client(d, *args)
                try:
                    ch.wait_for(lambda: ch.unix_open(os.path.join(d, "c.sock")),
                                "the client", proc=p)
                finally:
                    p.terminate()
                    out, err = p.communicate(timeout=15)
            self.assertNotIn("travel in clear", err, args)
            self.assertEqual(p.returncode, 0, (args, err))


if __name__ == "__main__":
    unittest.main(verbosity=2)

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
    at most --key-waiters of them wait for keysync, the others are answered
    at once, so a legitimate request is served while one waits."""

    # No keysync listens on this socket: every unknown kid waits the whole
    # --key-wait.  Four threads: the default is one waiter.
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
        # Every unknown kid gets unknown_key; one of them still waited when
        # the legitimate request was answered, the other three were
        # answered at once.
        self.assertEqual([d[1:] for d in done if d[0] == "unknown"],
                         [(422, "unknown_key")] * 4)
        self.assertEqual(before, 3, done)
        self.assertEqual(done[-1][0], "unknown", done)
        self.assertIn("--key-waiters", self.chain.log("worker.log"))


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

"""End-to-end cases, run against each web server pairing by the
test_e2e_*.py files.  Every check goes user -> client -> worker ->
inference server and back, through real web servers."""

import json
import os
import time
import unittest

import chain as ch
import ps1

CHAT = "/v1/chat/completions"


def chat(text, **extra):
    body = {"model": "test-model", "messages": [
        {"role": "system", "content": "You are a test."},
        {"role": "user", "content": text}]}
    body.update(extra)
    return body


def error_code(body):
    return body["error"]["code"]


class ChainCase(unittest.TestCase):
    """Subclasses set CHAIN to a dict of Chain() arguments."""

    CHAIN = {}

    @classmethod
    def setUpClass(cls):
        cls.chain = ch.Chain(**cls.CHAIN).start()
        cls.user = cls.chain.user_http

    @classmethod
    def tearDownClass(cls):
        cls.chain.stop()
        if cls.chain.sanitizer_reports:
            raise AssertionError("sanitizer reports:\n" +
                                 "\n".join(cls.chain.sanitizer_reports[:40]))

    def setUp(self):
        if self.chain.tamper:
            self.chain.tamper.mode = None
            self.chain.tamper.arg = None
            self.chain.tamper.saved = None

    def post(self, path, body, **kw):
        return self.user.json("POST", path, body, **kw)

    def assertError(self, status, code, result):
        st, hdrs, body = result
        self.assertIsInstance(body, dict, (st, body))
        self.assertIn("error", body, (st, body))
        self.assertEqual((st, error_code(body)), (status, code), body)
        self.assertEqual(hdrs.get("promptseal-encrypted"), "false")
        self.assertEqual(set(body["error"]), {"message", "type", "code"})


class RoundTrips(ChainCase):
    """The OpenAI endpoints, each way through the chain."""

    def test_chat(self):
        st, _, body = self.post(CHAT, chat("Hello, worker"))
        self.assertEqual(st, 200, body)
        self.assertEqual(body["choices"][0]["message"]["content"], "echo: Hello, worker")
        self.assertEqual(body["object"], "chat.completion")
        self.assertIn("usage", body)
        # The inference server saw exactly the plain request.
        seen = self.chain.recorded()[-1]
        self.assertEqual(seen["path"], CHAT)
        self.assertEqual(json.loads(seen["body"]), chat("Hello, worker"))

    def test_chat_stream(self):
        st, lines = self.user.stream(CHAT, chat("stream me please", stream=True,
                                                x_events=6))
        self.assertEqual(st, 200)
        events = ch.data_events(lines)
        self.assertEqual(events[-1], "[DONE]")
        chunks = [json.loads(e) for e in events[:-1]]
        text = "".join(c["choices"][0]["delta"].get("content") or ""
                       for c in chunks if c["choices"])
        self.assertEqual(text, "echo: stream me please")
        self.assertTrue(all(c["object"] == "chat.completion.chunk" for c in chunks))

    def test_stream_is_not_held_back(self):
        # 5 events 300 ms apart: the first must reach the user long
        # before the last, or some hop buffered the stream.
        body = chat("slowly", stream=True, x_events=5, x_delay_ms=300)
        st, lines = self.user.stream(CHAT, body)
        self.assertEqual(st, 200)
        data = [(t, l) for t, l in lines if l.startswith("data:")]
        self.assertEqual(data[-1][1].split(":", 1)[1].strip(), "[DONE]")
        self.assertGreater(data[-1][0] - data[0][0], 0.9)

    def test_completions(self):
        st, _, body = self.post("/v1/completions",
                                {"model": "test-model", "prompt": "Say hi", "max_tokens": 5})
        self.assertEqual(st, 200, body)
        self.assertEqual(body["choices"][0]["text"], "echo: Say hi")

    def test_completions_stream(self):
        st, lines = self.user.stream("/v1/completions", {
            "model": "test-model", "prompt": "Say hi", "stream": True})
        self.assertEqual(st, 200)
        events = ch.data_events(lines)
        self.assertEqual(events[-1], "[DONE]")
        text = "".join(json.loads(e)["choices"][0]["text"] for e in events[:-1]
                       if json.loads(e)["choices"])
        self.assertEqual(text, "echo: Say hi")

    def test_embeddings(self):
        st, _, body = self.post("/v1/embeddings", {"model": "test-model",
                                                   "input": ["one", "two"]})
        self.assertEqual(st, 200, body)
        self.assertEqual(len(body["data"]), 2)
        self.assertEqual(len(body["data"][0]["embedding"]), 8)

    def test_models(self):
        st, _, body = self.user.json("GET", "/v1/models")
        self.assertEqual(st, 200, body)
        self.assertEqual(body["data"][0]["id"], "test-model")

    def test_large_prompt(self):
        big = "x" * (1 << 20)
        st, _, body = self.post(CHAT, chat(big))
        self.assertEqual(st, 200)
        self.assertEqual(body["choices"][0]["message"]["content"], "echo: " + big)

    def test_non_ascii(self):
        text = "Grüße, 世界! 🔐 \u2028 \"quoted\" \\ back"
        st, _, body = self.post(CHAT, chat(text))
        self.assertEqual(st, 200, body)
        self.assertEqual(body["choices"][0]["message"]["content"], "echo: " + text)

    def test_authorization_reaches_worker_side(self):
        st, _, body = self.post(CHAT, chat("auth"), headers={"Authorization": "Bearer sk-test"})
        self.assertEqual(st, 200, body)


class Wire(ChainCase):
    """What crosses between the proxies."""

    def test_no_plaintext_between_proxies(self):
        marker = "secret-prompt-%d" % time.time_ns()
        st, _, body = self.post(CHAT, chat(marker))
        self.assertEqual(st, 200)
        st, lines = self.user.stream(CHAT, chat(marker, stream=True))
        self.assertEqual(st, 200)
        t = self.chain.tamper
        self.assertTrue(t.requests and t.responses)
        self.assertFalse(t.saw(marker.encode()))
        self.assertFalse(t.saw(b"echo:"))
        self.assertFalse(t.saw(b"You are a test"))
        self.assertTrue(all(b"ps1:" in b for b in t.requests))
        # Only the allowlisted members are plain.
        req = json.loads(t.requests[-1])
        self.assertEqual(req["model"], "test-model")
        self.assertTrue(req["messages"].startswith("ps1:"))

    def test_logs_hold_no_plaintext(self):
        marker = "logged-prompt-%d" % time.time_ns()
        self.post(CHAT, chat(marker))
        self.post(CHAT, chat(marker), headers={"Content-Type": "text/plain"})
        self.post(CHAT, "{" + marker)
        time.sleep(0.2)
        self.assertNotIn(marker, self.chain.all_logs())
        self.assertNotIn("echo:", self.chain.all_logs())


class Tampering(ChainCase):
    """Changes between the proxies are caught and never shown as output."""

    def tamper(self, mode, arg=None):
        self.chain.tamper.mode = mode
        self.chain.tamper.arg = arg

    def test_flipped_request_byte(self):
        self.tamper("flip_request")
        self.assertError(400, "decrypt_failed", self.post(CHAT, chat("flip")))

    def test_swapped_request_members(self):
        self.tamper("swap_request")
        body = chat("swap", temperature=0.5)
        self.assertError(400, "decrypt_failed", self.post(CHAT, body))

    def test_flipped_response_byte(self):
        self.tamper("flip_response")
        self.assertError(502, "bad_upstream_response", self.post(CHAT, chat("flip")))

    def test_response_replayed_into_another_request(self):
        self.tamper("replay")
        st, _, body = self.post(CHAT, chat("first"))
        self.assertEqual(st, 200)
        self.assertError(502, "bad_upstream_response", self.post(CHAT, chat("second")))

    def test_request_reflected_as_response(self):
        self.tamper("reflect")
        self.assertError(502, "bad_upstream_response", self.post(CHAT, chat("mirror")))

    def test_forged_plain_reply(self):
        self.tamper("plain_reply")
        self.assertError(502, "bad_upstream_response", self.post(CHAT, chat("forge")))

    def stream_error(self, mode, arg=None):
        self.tamper(mode, arg)
        st, lines = self.user.stream(CHAT, chat("a stream to tamper with", stream=True,
                                                x_events=6))
        self.assertEqual(st, 200)
        events = ch.data_events(lines)
        self.assertNotIn("[DONE]", events)
        last = json.loads(events[-1])
        self.assertEqual(set(last), {"error"})
        return last["error"]["code"], events

    def test_cut_stream(self):
        code, events = self.stream_error("cut_stream", 3)
        self.assertEqual(code, "stream_truncated")
        self.assertEqual(len(events), 4)

    def test_dropped_end_record(self):
        code, _ = self.stream_error("drop_end")
        self.assertEqual(code, "stream_truncated")

    def test_flipped_stream_event(self):
        code, events = self.stream_error("flip_event", 2)
        self.assertEqual(code, "decrypt_failed")
        self.assertEqual(len(events), 3)

    def test_swapped_stream_events(self):
        code, _ = self.stream_error("swap_events")
        self.assertEqual(code, "decrypt_failed")

    def test_stream_replayed_into_another_request(self):
        self.tamper("replay")
        st, lines = self.user.stream(CHAT, chat("one", stream=True))
        self.assertEqual(ch.data_events(lines)[-1], "[DONE]")
        st, lines = self.user.stream(CHAT, chat("two", stream=True))
        events = ch.data_events(lines)
        self.assertEqual(json.loads(events[-1])["error"]["code"], "decrypt_failed")
        self.assertEqual(len(events), 1)


class Errors(ChainCase):
    """Every error of protocol.md section 6."""

    def worker_post(self, body, path=CHAT, headers=None):
        return self.chain.worker_http.json("POST", path, body, headers=headers)

    def sealed(self, body, key=None, kid=None, nonce=None, path=CHAT):
        k = self.chain.keys[0]
        return ps1.seal_body(path, key or k[1], kid or k[0], nonce or os.urandom(16),
                             ps1.Q, body)

    def test_invalid_json(self):
        self.assertError(400, "invalid_json", self.post(CHAT, "{not json"))
        self.assertError(400, "invalid_json", self.post(CHAT, "[1,2]"))
        self.assertError(400, "invalid_json", self.worker_post("nope"))

    def test_invalid_envelope(self):
        body = self.sealed(chat("x"))
        body["messages"] = "ps1:zz"
        self.assertError(400, "invalid_envelope", self.worker_post(body))
        other = self.sealed({"temperature": 1})
        body = self.sealed(chat("x"))
        body["temperature"] = other["temperature"]      # another nonce
        self.assertError(400, "invalid_envelope", self.worker_post(body))
        self.assertError(400, "invalid_envelope", self.worker_post({"model": "m"}))

    def test_plaintext_member(self):
        self.assertError(400, "plaintext_member", self.worker_post(chat("plain")))
        body = self.sealed(chat("x"))
        body["temperature"] = 0.5
        self.assertError(400, "plaintext_member", self.worker_post(body))

    def test_decrypt_failed(self):
        k = self.chain.keys[0]
        body = self.sealed(chat("x"), key=os.urandom(32), kid=k[0])
        self.assertError(400, "decrypt_failed", self.worker_post(body))

    def test_unknown_endpoint(self):
        self.assertError(404, "unknown_endpoint", self.post("/v1/nothing", {}))
        self.assertError(404, "unknown_endpoint", self.post("/v1/chat/completions/x", {}))
        self.assertError(404, "unknown_endpoint", self.worker_post({}, path="/v2/x"))

    def test_method_not_allowed(self):
        self.assertError(405, "method_not_allowed", self.user.json("GET", CHAT))
        self.assertError(405, "method_not_allowed", self.post("/v1/models", {}))

    def test_body_too_large(self):
        self.assertError(413, "body_too_large", self.post(CHAT, chat("y" * (3 << 20))))
        self.assertError(413, "body_too_large", self.worker_post(
            {"model": "m", "messages": "ps1:" + "A" * (5 << 20)}))

    def test_unsupported_media_type(self):
        self.assertError(415, "unsupported_media_type", self.post(
            CHAT, chat("x"), headers={"Content-Type": "text/plain"}))

    def test_unknown_key(self):
        body = self.sealed(chat("x"), key=os.urandom(32), kid=os.urandom(16))
        self.assertError(422, "unknown_key", self.worker_post(body))

    def test_upstream_error_is_encrypted(self):
        # An error of the inference server is a reply like any other.
        st, _, body = self.post(CHAT, chat("x", x_status=429))
        self.assertEqual(st, 429)
        self.assertEqual(body["error"]["code"], "x_status")
        t = self.chain.tamper
        self.assertIn(b"ps1:", t.responses[-1])

    def test_bad_upstream_response(self):
        self.assertError(502, "bad_upstream_response", self.post(CHAT, chat("x", x_garbage=True)))

    def test_upstream_stream_cut(self):
        st, lines = self.user.stream(CHAT, chat("cut", stream=True, x_events=5, x_cut_after=2))
        events = ch.data_events(lines)
        self.assertEqual(json.loads(events[-1])["error"]["code"], "upstream_unavailable")
        self.assertNotIn("[DONE]", events)


class KeyFiles(ChainCase):
    """The worker follows its key cache file."""

    def test_rewritten_cache_is_used_without_restart(self):
        old = self.chain.keys
        kid, secret = ps1.new_key()
        new = [(kid, secret, int(time.time()) + 3600)]
        self.chain.set_keys(new)
        time.sleep(1.1)
        st, _, body = self.post(CHAT, chat("new key"))
        self.assertEqual(st, 200, body)
        req = json.loads(self.chain.tamper.requests[-1])
        self.assertEqual(ps1.parse(req["messages"])[0], kid)
        self.chain.set_keys(old)
        time.sleep(1.1)

    def test_loose_permissions_are_refused(self):
        old = self.chain.keys
        kid, secret = ps1.new_key()
        new = [(kid, secret, int(time.time()) + 3600)]
        self.chain.write_keys(self.chain.client_keys, new)
        self.chain.write_keys(self.chain.worker_keys, new, mode=0o644)
        time.sleep(1.1)
        # The worker keeps its old keys: the client's new kid is unknown.
        self.assertError(422, "unknown_key", self.post(CHAT, chat("loose")))
        self.assertIn("chmod", self.chain.log("worker.log"))
        self.chain.set_keys(old)
        time.sleep(1.1)
        st, _, _ = self.post(CHAT, chat("back"))
        self.assertEqual(st, 200)

    def test_no_key(self):
        self.chain.write_keys(self.chain.client_keys, [(os.urandom(16), os.urandom(32),
                                                        int(time.time()) - 10)])
        time.sleep(1.1)
        try:
            self.assertError(503, "no_key", self.post(CHAT, chat("expired")))
        finally:
            self.chain.set_keys(self.chain.keys)
            time.sleep(1.1)


class Outages(ChainCase):
    """The next hop goes away, or falls silent."""

    CHAIN = {}

    def test_worker_without_keys(self):
        self.chain.write_keys(self.chain.worker_keys, [])
        try:
            self.assertError(503, "no_key", self.post(CHAT, chat("no keys")))
        finally:
            self.chain.set_keys(self.chain.keys)

    def test_inference_server_down(self):
        self.chain.stop_proc("inference")
        try:
            self.assertError(502, "upstream_unavailable", self.post(CHAT, chat("down")))
        finally:
            self.chain.start_inference()
        st, _, _ = self.post(CHAT, chat("up again"))
        self.assertEqual(st, 200)

    def test_worker_web_server_down(self):
        self.chain.stop_proc("web-worker")
        try:
            self.assertError(502, "upstream_unavailable", self.post(CHAT, chat("down")))
        finally:
            self.chain._web("worker", self.chain.worker_web, self.chain.worker_port)
        st, _, _ = self.post(CHAT, chat("up again"))
        self.assertEqual(st, 200)

    def test_upstream_timeout(self):
        # The worker waits --upstream-timeout 2 s for the inference server.
        self.assertError(504, "upstream_timeout",
                         self.post(CHAT, chat("slow", x_first_delay_ms=4000)))


class Lifecycle(ChainCase):
    """The proxies stop cleanly on SIGTERM and SIGINT, also mid-stream."""

    def tearDown(self):
        # Bring back what a test stopped, for the next one.
        for name, start in (("worker", self.chain.start_worker),
                            ("client", self.chain.start_client)):
            p = self.chain.procs.get(name)
            if p is not None and p.poll() is not None:
                self.chain.procs.pop(name)
                start()

    def stop_within(self, name, sig, bound=12):
        import signal as sg
        p = self.chain.procs[name]
        t0 = time.monotonic()
        os.kill(p.pid, sig)
        p.wait(bound)
        self.assertLess(time.monotonic() - t0, bound)
        self.assertEqual(p.returncode, 0, self.chain.log(name + ".log"))
        self.assertIn("signal %d: stopping" % sig, self.chain.log(name + ".log"))
        return sg

    def test_sigterm_while_streaming(self):
        import signal as sg
        import threading
        result = {}

        def slow():
            result["r"] = self.user.stream(CHAT, chat("long", stream=True, x_events=8,
                                                     x_delay_ms=250))
        th = threading.Thread(target=slow)
        th.start()
        time.sleep(0.6)
        self.stop_within("worker", sg.SIGTERM)
        th.join(30)
        # The stream in flight was allowed to finish.
        self.assertEqual(ch.data_events(result["r"][1])[-1], "[DONE]")

    def test_sigint(self):
        import signal as sg
        self.stop_within("client", sg.SIGINT)

    def test_stop_after_a_connection_without_request(self):
        # A connection that closes before sending a request used to leave
        # a thread asleep in accept(), and the stop waited for the
        # deadline.
        import signal as sg
        import socket
        for _ in range(3):
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(self.chain.worker_sock)
        time.sleep(0.3)
        self.stop_within("worker", sg.SIGTERM)
        self.assertNotIn("still running at the stop deadline",
                         self.chain.log("worker.log"))


def full_suite(**chain):
    """The cases above, each on its own chain of the given Chain() arguments,
    as classes for a test module's namespace."""
    out = {}
    for base in (RoundTrips, Wire, Tampering, Errors, KeyFiles):
        out[base.__name__] = type(base.__name__, (base,), {"CHAIN": chain})
    out["Outages"] = type("Outages", (Outages,), {
        "CHAIN": dict(chain, worker_args=["--upstream-timeout", "2"])})
    return out

# SPDX-License-Identifier: ISC
"""End-to-end cases, run against each web server pairing by the
test_e2e_*.py files.  Every check goes user -> client -> worker ->
inference server and back, through real web servers."""

import json
import os
import shutil
import subprocess
import time
import unittest

import chain as ch
import pswire

# The npm packages of tests/e2e/sdk (scripts/deps installs them).
SDK = os.environ.get("PS_SDK_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "sdk")

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
            self.chain.tamper.reset()

    def post(self, path, body, **kw):
        return self.user.json("POST", path, body, **kw)

    def node(self, script, base, *args, mods=("openai",)):
        """Run an SDK script of tests/e2e/sdk against base; its stdout."""
        node = shutil.which("node")
        self.assertIsNotNone(node, "node is missing: run scripts/deps")
        for mod in mods:
            self.assertTrue(os.path.isdir(os.path.join(SDK, "node_modules", mod)),
                            "%s is missing: run scripts/deps" % mod)
        # The script runs from beside node_modules so its import resolves.
        r = subprocess.run([node, os.path.join(SDK, script), base] + list(args),
                           capture_output=True, text=True, timeout=120)
        print(r.stdout + r.stderr)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def curl(self, *args):
        curl = shutil.which("curl")
        self.assertIsNotNone(curl, "curl is missing: run scripts/deps")
        r = subprocess.run([curl, "-sS", "--fail-with-body"] + list(args),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

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
        self.assertTrue(all(b"ps2:" in b for b in t.requests))
        # Only the allowlisted members are copied; the envelope is last.
        req = json.loads(t.requests[-1])
        self.assertEqual(list(req), ["model", "stream", "ps2"])
        self.assertEqual(req["model"], "test-model")
        self.assertTrue(req["ps2"].startswith("ps2:"))
        self.assertTrue(all(h[2].count("Promptseal-Version: 2") == 1
                            for h in t.heads))

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
        body = chat("swap", temperature=0.5, max_tokens=5)
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

    def stream_error(self, mode, arg=None, text="a stream to tamper with", done=False):
        self.tamper(mode, arg)
        st, lines = self.user.stream(CHAT, chat(text, stream=True, x_events=6))
        self.assertEqual(st, 200)
        events = ch.data_events(lines)
        # The upstream's own [DONE] is an event like any other: it comes
        # only when it authenticates.
        self.assertEqual("[DONE]" in events, done)
        last = json.loads(events[-1])
        self.assertEqual(set(last), {"error"})
        # Only the data the inference server sent, then one error.
        self.assertTrue(all(l == "" or l.startswith("data: ") for _, l in lines), lines)
        return last["error"]["code"], events

    def test_cut_stream(self):
        code, events = self.stream_error("cut_stream", 3)
        self.assertEqual(code, "stream_truncated")
        self.assertEqual(len(events), 4)

    def test_dropped_end_record(self):
        # Every event came, the upstream's [DONE] too, but not the final
        # record: the stream is still reported as cut.
        code, _ = self.stream_error("drop_end", done=True)
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


class Attacks(ChainCase):
    """Every attack of issue 9, replayed through the relay between the
    proxies: each is refused or reported to the user as an error, never
    shown as output."""

    def tamper(self, mode, arg=None):
        self.chain.tamper.mode = mode
        self.chain.tamper.arg = arg

    def inference_requests(self):
        return len(self.chain.recorded())

    def stream(self, text, **extra):
        st, lines = self.user.stream(CHAT, chat(text, stream=True, **extra))
        self.assertEqual(st, 200)
        return ch.data_events(lines)

    def assert_stream_error(self, events, code, never=None):
        last = json.loads(events[-1])
        self.assertEqual(set(last), {"error"}, events)
        self.assertEqual(last["error"]["code"], code)
        self.assertNotIn("[DONE]", events)
        if never is not None:
            self.assertNotIn(never, "".join(events))

    def test_stream_members_deleted(self):
        # v1: "choices" removed from two events turned "echo: secret
        # prompt" into "ech" + "ret prompt".  v2: choices is not on the
        # wire at all; what can be removed is a plain copy or the sealed
        # part, and either fails.
        events = self.stream("secret prompt", x_events=6)
        wire = b"".join(self.chain.tamper.streams[-1])
        self.assertNotIn(b"choices", wire)
        self.assertNotIn(b"delta", wire)
        for edit in ({"id": None}, {"ps2": None}, {"choices": []}):
            self.tamper("edit_events", edit)
            events = self.stream("secret prompt", x_events=6)
            self.assert_stream_error(events, "decrypt_failed", never="ret prompt")
            self.assertEqual(len(events), 1)

    def test_plain_members_changed(self):
        before = self.inference_requests()
        for edit in ({"model": "cheap-model"}, {"n": 4}, {"max_tokens": 1},
                     {"model": None}, {"max_completion_tokens": 9}):
            self.tamper("edit_request", edit)
            self.assertError(400, "decrypt_failed",
                             self.post(CHAT, chat("billing", max_tokens=100, n=1)))
        # None of them reached the inference server.
        self.assertEqual(self.inference_requests(), before)
        # The reply's usage, changed or removed.
        for edit in ({"usage": {"prompt_tokens": 1, "completion_tokens": 1,
                                "total_tokens": 2}}, {"usage": None}, {"id": "x"}):
            self.tamper("edit_reply", edit)
            self.assertError(502, "bad_upstream_response", self.post(CHAT, chat("usage")))

    def test_status_relabelled(self):
        for status in (201, 500, 429):
            self.tamper("relabel_status", status)
            self.assertError(502, "bad_upstream_response",
                             self.post(CHAT, chat("relabel")))
        # An error of the inference server relabelled as a success.
        self.tamper("relabel_status", 200)
        self.assertError(502, "bad_upstream_response",
                         self.post(CHAT, chat("err", x_status=429)))
        self.tamper("relabel_status", 201)
        self.assert_stream_error(self.stream("relabel a stream"), "decrypt_failed",
                                 never="echo")

    def test_sse_lines_injected(self):
        for line in (b"event: evil\n", b"id: 666\n", b": comment\n\n", b"retry: 1\n\n",
                     b'data: {"choices":[{"index":0,"delta":{"content":"EVIL"}}]}\n\n'):
            self.tamper("inject", line)
            events = self.stream("inject into me", x_events=4)
            self.assert_stream_error(events, "decrypt_failed", never="EVIL")
            self.assertEqual(len(events), 2)
        # The upstream's own event: and id: lines are sealed with their
        # event: they are not readable between the proxies.
        self.tamper(None)
        self.stream("no names")
        wire = b"".join(self.chain.tamper.streams[-1])
        self.assertTrue(all(e.startswith(b"data: ") for e in self.chain.tamper.streams[-1]))
        self.assertNotIn(b"event:", wire)

    def test_models_as_html(self):
        self.tamper("html_models")
        st, hdrs, body = self.user.request("GET", "/v1/models")
        self.assertEqual(st, 502)
        self.assertNotIn(b"script", body)
        self.assertEqual(json.loads(body)["error"]["code"], "bad_upstream_response")
        # The genuine sealed list, relabelled.
        self.tamper("relabel_type", ("GET", "text/html"))
        self.assertError(502, "bad_upstream_response", self.user.json("GET", "/v1/models"))
        self.tamper(None)
        st, hdrs, body = self.user.json("GET", "/v1/models")
        self.assertEqual(st, 200)
        self.assertEqual(hdrs["content-type"], "application/json")
        # Nothing crossed unsealed: the request's envelope is in a header,
        # the reply is one envelope.
        t = self.chain.tamper
        self.assertTrue(t.requests[-1].startswith(b"ps2:"))
        self.assertNotIn(b"test-model", t.responses[-1])

    def test_rerouted(self):
        before = self.inference_requests()
        self.tamper("reroute", "/v1/completions")
        self.assertError(400, "decrypt_failed", self.post(CHAT, chat("reroute")))
        self.tamper("reroute", "/v1/embeddings")
        self.assertError(400, "decrypt_failed", self.post(CHAT, chat("reroute")))
        self.assertEqual(self.inference_requests(), before)

    def test_request_replayed(self):
        before = self.inference_requests()
        self.tamper("double_request")
        self.assertError(409, "replayed", self.post(CHAT, chat("pay once")))
        self.assertEqual(self.inference_requests(), before + 1)
        self.tamper("replay_request")
        st, _, body = self.post(CHAT, chat("first"))
        self.assertEqual(st, 200, body)
        self.assertError(409, "replayed", self.post(CHAT, chat("second")))
        self.assertEqual(self.inference_requests(), before + 2)

    def test_two_replies_spliced(self):
        # As if the request had been replayed to a second node: the rest
        # of the stream comes from that node's reply.
        self.tamper("splice")
        events = self.stream("Yes, it is unsafe.", x_events=4)
        self.assert_stream_error(events, "decrypt_failed", never="safe.")
        self.assertEqual(len(events), 3)

    def test_token_lengths_hidden(self):
        # Slices of 1 to 4 bytes of UTF-8: the upstream events differ in
        # length, the wire events do not.
        text = "a\u00e9\u20ac\U0001F510b" * 3
        self.stream(text, x_events=15)
        wire = self.chain.tamper.streams[-1]
        data = [e for e in wire if e.startswith(b"data: {")]
        kid, secret, _ = self.chain.keys[0]
        req = self.chain.tamper.requests[-1]
        k, nonce, _, _ = pswire.wire_envelope(req, pswire.Q)
        contents, _ = pswire.open_stream(secret, kid, nonce, CHAT, b"".join(wire))
        deltas = [json.loads(pswire.event_data(c))["choices"][0]["delta"].get("content")
                  for c in contents[1:-3]]
        self.assertGreater(len({len(d.encode()) for d in deltas if d}), 1, deltas)
        self.assertGreater(len({len(c) for c in contents[1:-3]}), 1)
        self.assertEqual(len({len(e) for e in data[1:-2]}), 1,
                         [len(e) for e in data])

    def test_query_sealed(self):
        marker = "q%d" % time.time_ns()
        st, _, body = self.post(CHAT + "?secret=" + marker, chat("with a query"))
        self.assertEqual(st, 200, body)
        t = self.chain.tamper
        self.assertEqual(t.heads[-1][1], CHAT)
        self.assertFalse(t.saw(marker.encode()))
        time.sleep(0.2)
        self.assertNotIn(marker, self.chain.all_logs())
        # It arrives sealed, and the inference server gets it.
        self.assertEqual(self.chain.recorded()[-1]["path"], CHAT + "?secret=" + marker)
        st, _, body = self.user.json("GET", "/v1/models?limit=" + marker)
        self.assertEqual(st, 200, body)
        self.assertEqual(t.heads[-1][1], "/v1/models")
        self.assertFalse(t.saw(marker.encode()))
        self.assertEqual(self.chain.recorded()[-1]["path"], "/v1/models?limit=" + marker)

    def test_long_query(self):
        self.assertError(414, "query_too_long",
                         self.post(CHAT + "?q=" + "x" * 4200, chat("long")))
        st, _, body = self.post(CHAT + "?q=" + "x" * 4000, chat("long enough"))
        self.assertEqual(st, 200, body)
        # A bodyless request carries it in its envelope header, which the
        # worker's web server still takes.
        st, _, body = self.user.json("GET", "/v1/models?q=" + "x" * 4000)
        self.assertEqual(st, 200, body)
        self.assertError(414, "query_too_long",
                         self.user.json("GET", "/v1/models?q=" + "x" * 4200))

    def test_relay_error_text(self):
        for (status, code), want in (((502, "upstream_unavailable"),
                                      (502, "upstream_unavailable")),
                                     ((200, "decrypt_failed"), (400, "decrypt_failed")),
                                     ((403, "no_key"), (503, "no_key")),
                                     ((502, "evil_code"), (502, "bad_upstream_response")),
                                     ((500, "internal_error"),
                                      (502, "bad_upstream_response"))):
            self.tamper("evil_error", (status, code))
            st, hdrs, body = self.user.request("POST", CHAT, chat("evil"))
            self.assertNotIn(b"evil.example", body)
            self.assertError(want[0], want[1], (st, hdrs, json.loads(body)))
        self.tamper("plain_reply")
        st, _, body = self.user.request("POST", CHAT, chat("forged"))
        self.assertEqual(st, 502)
        self.assertNotIn(b"FORGED", body)

    def test_plain_query_on_the_wire(self):
        self.tamper("add_query", "injected=1")
        self.assertError(400, "plain_query", self.post(CHAT, chat("query added")))

    def test_usage_only_chunk(self):
        events = self.stream("count me", stream_options={"include_usage": True})
        self.assertEqual(events[-1], "[DONE]")
        last = json.loads(events[-2])
        self.assertEqual(last["choices"], [])
        self.assertIn("total_tokens", last["usage"])
        # Its usage is plain on the wire, for billing.
        wire = self.chain.tamper.streams[-1]
        self.assertIn(b'"usage":{', wire[-3])


class Errors(ChainCase):
    """Every error of protocol.md section 6."""

    def worker_post(self, body, path=CHAT, headers=None):
        return self.chain.worker_http.json("POST", path, body, headers=headers)

    def sealed(self, body, secret=None, kid=None, nonce=None, path=CHAT, ts=None,
               query=b""):
        """A wire body as a v2 client would send it (bytes)."""
        k = self.chain.keys[0]
        if isinstance(body, dict):
            body = json.dumps(body).encode()
        return pswire.seal_request(secret or k[1], kid or k[0], nonce or os.urandom(16),
                                   path, body, ts=ts, query=query)

    def test_invalid_json(self):
        self.assertError(400, "invalid_json", self.post(CHAT, "{not json"))
        self.assertError(400, "invalid_json", self.post(CHAT, "[1,2]"))
        self.assertError(400, "invalid_json", self.post(CHAT, '{"a":1,"a":2}'))
        self.assertError(400, "invalid_json", self.post(CHAT, '{"ps2":"x"}'))
        self.assertError(400, "invalid_json", self.worker_post("nope"))

    def test_invalid_envelope(self):
        self.assertError(400, "invalid_envelope",
                         self.worker_post(b'{"model":"m","ps2":"ps2:zz"}'))
        self.assertError(400, "invalid_envelope", self.worker_post({"model": "m"}))
        # A bodyless request needs its envelope header.
        self.assertError(400, "invalid_envelope",
                         self.chain.worker_http.json("GET", "/v1/models"))

    def test_plaintext_member(self):
        self.assertError(400, "plaintext_member", self.worker_post(chat("plain")))

    def test_unsupported_version(self):
        k = self.chain.keys[0]
        v1 = {"model": "m", "messages": "ps1:%s:%s:AAAAAAAAAAAAAAAA:%s" % (
            k[0].hex(), pswire.b64u(os.urandom(16)), "A" * 40)}
        st, hdrs, body = self.worker_post(v1)
        self.assertError(400, "unsupported_version", (st, hdrs, body))
        self.assertIn("version 1", body["error"]["message"])
        self.assertIn("version 2", body["error"]["message"])
        self.assertEqual(hdrs.get("promptseal-version"), "2")

    def test_decrypt_failed(self):
        k = self.chain.keys[0]
        body = self.sealed(chat("x"), secret=os.urandom(32), kid=k[0])
        self.assertError(400, "decrypt_failed", self.worker_post(body))

    def test_replayed_and_stale(self):
        body = self.sealed(chat("once"))
        st, hdrs, _ = self.chain.worker_http.request("POST", CHAT, body)
        self.assertEqual(st, 200)
        self.assertEqual(hdrs.get("promptseal-encrypted"), "true")
        self.assertError(409, "replayed", self.worker_post(body))
        old = self.sealed(chat("old"), ts=int(time.time()) - 400)
        self.assertError(400, "stale_request", self.worker_post(old))
        ahead = self.sealed(chat("ahead"), ts=int(time.time()) + 3600)
        self.assertError(400, "stale_request", self.worker_post(ahead))

    def test_plain_query(self):
        body = self.sealed(chat("q"))
        self.assertError(400, "plain_query", self.worker_post(body, path=CHAT + "?a=1"))
        self.assertError(400, "plain_query", self.worker_post(body, path=CHAT + "?"))

    def test_query_too_long(self):
        self.assertError(414, "query_too_long",
                         self.post(CHAT + "?q=" + "x" * 5000, chat("long query")))

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
        body = self.sealed(chat("x"), secret=os.urandom(32), kid=os.urandom(16))
        self.assertError(422, "unknown_key", self.worker_post(body))

    def test_upstream_error_is_encrypted(self):
        # An error of the inference server is a reply like any other.
        st, _, body = self.post(CHAT, chat("x", x_status=429))
        self.assertEqual(st, 429)
        self.assertEqual(body["error"]["code"], "x_status")
        t = self.chain.tamper
        self.assertIn(b"ps2:", t.responses[-1])
        self.assertNotIn(b"x_status", t.responses[-1])

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
        kid, secret = pswire.new_key()
        new = [(kid, secret, int(time.time()) + 3600)]
        self.chain.set_keys(new)
        time.sleep(1.1)
        st, _, body = self.post(CHAT, chat("new key"))
        self.assertEqual(st, 200, body)
        self.assertEqual(pswire.wire_kid(self.chain.tamper.requests[-1]), kid)
        self.chain.set_keys(old)
        time.sleep(1.1)

    def test_loose_permissions_are_refused(self):
        old = self.chain.keys
        kid, secret = pswire.new_key()
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
        # Its socket exists before it blocks the stop signals (spawn-fcgi
        # makes it): wait until it serves, or the signal's default action
        # may kill it first.
        def serving():
            log = self.chain.log(name + ".log")
            # The log holds the lines of earlier processes too.
            return log.count("serving with") > log.count(": stopping")
        ch.wait_for(serving, name + " to serve", timeout=30, proc=p)
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
    for base in (RoundTrips, Wire, Tampering, Attacks, Errors, KeyFiles):
        out[base.__name__] = type(base.__name__, (base,), {"CHAIN": chain})
    out["Outages"] = type("Outages", (Outages,), {
        "CHAIN": dict(chain, worker_args=["--upstream-timeout", "2"])})
    return out

# SPDX-License-Identifier: ISC
"""The endpoints of revision 2.1 (protocol.md section 4): Responses,
Anthropic Messages, models/{id}, rerank, score, tokenize, detokenize,
through the whole chain and the tamper relay between the proxies; then
the official SDKs and curl, unchanged, behind lighttpd and Apache."""

import http.client
import json
import os
import time
import unittest

import cases
import pswire


def fnv1a(data):
    """The inference server's x_body_fnv: FNV-1a 64 of a seed byte 0 and
    the bytes."""
    h = 0xcbf29ce484222325
    for b in b"\0" + data:
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return "%016x" % h


def typed_events(raw):
    """(event name, data as JSON or text) of each event of an SSE body."""
    out = []
    for ev in raw.replace(b"\r\n", b"\n").split(b"\n\n"):
        if not ev:
            continue
        name, data = None, []
        for line in ev.split(b"\n"):
            if line.startswith(b"event:"):
                name = line[6:].strip().decode()
            elif line.startswith(b"data:"):
                v = line[5:]
                data.append(v[1:] if v.startswith(b" ") else v)
        text = b"\n".join(data).decode()
        try:
            out.append((name, json.loads(text)))
        except ValueError:
            out.append((name, text))
    return out


def messages_body(text, **extra):
    b = {"model": "test-model", "max_tokens": 64, "system": "You are a test.",
         "messages": [{"role": "user", "content": text}]}
    b.update(extra)
    return b


class Base(cases.ChainCase):
    CHAIN = dict(client_web="lighttpd", worker_web="lighttpd")

    def tamper(self, mode, arg=None):
        self.chain.tamper.mode = mode
        self.chain.tamper.arg = arg

    def call(self, method, path, body=None, headers=None):
        """(status, headers, raw body) of one request as the user sends
        it; body is sent as given (bytes) or as JSON."""
        h = dict(headers or {})
        if body is not None:
            h.setdefault("Content-Type", "application/json")
            if not isinstance(body, bytes):
                body = json.dumps(body).encode()
        c = http.client.HTTPConnection("127.0.0.1", self.chain.client_port,
                                       timeout=30)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
        finally:
            c.close()

    def jcall(self, method, path, body=None, headers=None):
        st, h, data = self.call(method, path, body, headers)
        return st, h, json.loads(data) if data else None

    def inference_requests(self):
        return len(self.chain.recorded())

    def wire_contents(self, path):
        """The event contents of the last stream the relay carried, opened
        with the chain's key: what the worker sealed."""
        kid, secret, _ = self.chain.keys[0]
        req = self.chain.tamper.requests[-1]
        if req.startswith(b"ps2:"):
            k, nonce, _, _ = pswire.parse_envelope(req, pswire.Q)
        else:
            k, nonce, _, _ = pswire.wire_envelope(req, pswire.Q)
        contents, _ = pswire.open_stream(secret, kid, nonce, path,
                                         b"".join(self.chain.tamper.streams[-1]))
        return contents

    def create_response(self, text, **extra):
        body = {"model": "test-model", "input": text, "max_output_tokens": 99}
        body.update(extra)
        st, _, out = self.jcall("POST", "/v1/responses", body)
        self.assertEqual(st, 200, out)
        return out


class Responses(Base):
    """POST /v1/responses and the bodyless requests on one response."""

    def test_create(self):
        body = {"model": "test-model", "input": [{"role": "user", "content": "Hi, R"}],
                "instructions": "Be brief.", "max_output_tokens": 50}
        raw = json.dumps(body).encode()
        st, _, out = self.jcall("POST", "/v1/responses", raw)
        self.assertEqual(st, 200, out)
        self.assertEqual(out["output"][0]["content"][0]["text"], "echo: Hi, R")
        # The inference server got exactly the user's bytes.
        self.assertEqual(out["x_body_fnv"], fnv1a(raw))
        seen = self.chain.recorded()[-1]
        self.assertEqual((seen["method"], seen["path"]), ("POST", "/v1/responses"))
        self.assertEqual(seen["body"].encode(), raw)
        # On the wire: model, max_output_tokens plain, the rest sealed.
        req = json.loads(self.chain.tamper.requests[-1])
        self.assertEqual(list(req), ["model", "max_output_tokens", "ps2"])
        reply = json.loads(self.chain.tamper.responses[-1])
        self.assertEqual(list(reply), ["id", "usage", "ps2"])

    def test_stream(self):
        body = {"model": "test-model", "input": "typed events, please",
                "stream": True, "x_events": 5}
        st, h, raw = self.call("POST", "/v1/responses", body)
        self.assertEqual(st, 200)
        self.assertTrue(h["content-type"].startswith("text/event-stream"))
        evs = typed_events(raw)
        names = [n for n, _ in evs]
        self.assertEqual(names[0], "response.created")
        self.assertEqual(names[-1], "response.completed")
        self.assertNotIn("[DONE]", raw.decode())
        self.assertEqual([d["sequence_number"] for _, d in evs], list(range(len(evs))))
        self.assertTrue(all(n == d["type"] for n, d in evs))
        text = "".join(d["delta"] for n, d in evs if n == "response.output_text.delta")
        self.assertEqual(text, "echo: typed events, please")
        # The user got exactly the bytes the worker sealed, event by event,
        # and none of them (event names included) crossed readable.
        self.assertEqual(b"".join(self.wire_contents("/v1/responses")), raw)
        wire = b"".join(self.chain.tamper.streams[-1])
        for needle in (b"event:", b"response.created", b"output_text.delta",
                       b"response.completed", b"sequence_number", b"echo:"):
            self.assertNotIn(needle, wire)
        self.assertTrue(all(e.startswith(b"data: ") for e in self.chain.tamper.streams[-1]))

    def test_retrieve_delete_items_cancel(self):
        r = self.create_response("keep me")
        rid = r["id"]
        path = "/v1/responses/" + rid
        st, _, got = self.jcall("GET", path + "?include=message.output_text.logprobs")
        self.assertEqual(st, 200, got)
        self.assertEqual(got["id"], rid)
        self.assertEqual((got["x_method"], got["x_path"], got["x_query"]),
                         ("GET", path, "include=message.output_text.logprobs"))
        # The query was sealed; the relay saw the path alone.
        self.assertEqual(self.chain.tamper.heads[-1][:2], ("GET", path))
        self.assertFalse(self.chain.tamper.saw(b"logprobs"))
        self.assertTrue(self.chain.tamper.requests[-1].startswith(b"ps2:"))
        self.assertNotIn(b"keep me", self.chain.tamper.responses[-1])

        st, _, items = self.jcall("GET", path + "/input_items?after=x&limit=2")
        self.assertEqual(st, 200, items)
        self.assertEqual(items["data"][0]["content"][0]["text"], "keep me")
        self.assertEqual(items["x_query"], "after=x&limit=2")

        st, _, c = self.jcall("POST", path + "/cancel")
        self.assertEqual(st, 200, c)
        self.assertEqual((c["status"], c["x_method"]), ("cancelled", "POST"))
        self.assertEqual(self.chain.recorded()[-1]["body"], "")
        # A POST without a body goes without a Content-Type on both hops
        # (protocol.md section 4), not with libcurl's form type.
        self.assertEqual(c["x_content_type"], "")
        self.assertEqual(self.chain.tamper.heads[-1][:2], ("POST", path + "/cancel"))
        self.assertNotIn("content-type", self.chain.tamper.heads[-1][2].lower())

        st, _, d = self.jcall("DELETE", path)
        self.assertEqual(st, 200, d)
        self.assertEqual((d["deleted"], d["x_method"]), (True, "DELETE"))
        st, _, gone = self.jcall("GET", path)
        self.assertEqual(st, 404, gone)
        self.assertEqual(gone["error"]["code"], "not_found")

    def test_retrieve_stream(self):
        rid = self.create_response("again as a stream")["id"]
        st, h, raw = self.call("GET", "/v1/responses/%s?stream=true" % rid)
        self.assertEqual(st, 200)
        evs = typed_events(raw)
        self.assertEqual(evs[-1][0], "response.completed")
        self.assertEqual(b"".join(self.wire_contents("/v1/responses/" + rid)), raw)

    def test_model_id(self):
        st, _, m = self.jcall("GET", "/v1/models/org%2Ftest-model")
        self.assertEqual(st, 200, m)
        # Forwarded as sent, decoded by the inference server only.
        self.assertEqual((m["id"], m["x_path_id"]), ("org/test-model", "org%2Ftest-model"))
        self.assertEqual(self.chain.recorded()[-1]["path"], "/v1/models/org%2Ftest-model")
        self.assertEqual(self.chain.tamper.heads[-1][1], "/v1/models/org%2Ftest-model")
        self.assertNotIn(b"test-model", self.chain.tamper.responses[-1])

    def test_longest_id(self):
        # An id of 256 bytes, the cap, goes through sealed and bound
        # (the inference server does not know it).
        for path in ("/v1/responses/" + "a" * 256,
                     "/v1/responses/%s/input_items" % ("b" * 256)):
            st, _, body = self.jcall("GET", path)
            self.assertEqual((st, body["error"]["code"]), (404, "not_found"), body)
            self.assertEqual(self.chain.recorded()[-1]["path"], path)
        st, _, body = self.jcall("DELETE", "/v1/responses/" + "c" * 256)
        self.assertEqual((st, body["error"]["code"]), (404, "not_found"), body)

    def test_bad_ids(self):
        before = self.inference_requests()
        relayed = len(self.chain.tamper.heads)
        for method, path in (("GET", "/v1/responses/.."),
                             ("GET", "/v1/responses/%2e%2e"),
                             ("GET", "/v1/responses/a%2Fb"),
                             ("GET", "/v1/responses/a%5Cb"),
                             ("GET", "/v1/responses/a%252Fb"),
                             ("GET", "/v1/responses/" + "a" * 257),
                             ("DELETE", "/v1/responses/a%20b"),
                             ("GET", "/v1/models/..%2Fadmin"),
                             ("GET", "/v1/models/a%2F%2Fb"),
                             ("GET", "/v1/models/%2Fetc"),
                             ("POST", "/v1/responses/a/b/cancel")):
            st, _, body = self.jcall(method, path)
            self.assertEqual((st, body["error"]["code"]), (404, "unknown_endpoint"),
                             path)
        self.assertEqual(self.inference_requests(), before)
        self.assertEqual(len(self.chain.tamper.heads), relayed)
        st, _, body = self.jcall("PUT", "/v1/responses/resp_1")
        self.assertEqual((st, body["error"]["code"]), (405, "method_not_allowed"))

    def test_worker_checks_ids_too(self):
        # Sent straight to the worker's web server with a header sealed
        # for that very path: the worker refuses it before opening it.
        kid, secret, _ = self.chain.keys[0]
        before = self.inference_requests()
        for path in ("/v1/responses/..", "/v1/models/..%2Fx", "/v1/responses/a%2Fb"):
            env = pswire.seal_envelope(secret, pswire.Q, kid, os.urandom(16), None, 0,
                                       False, pswire.ctx_request("GET", path),
                                       pswire.request_content(int(time.time()), b"", b""))
            st, _, body = self.chain.worker_http.json(
                "GET", path, headers={"Promptseal-Request": env.decode()})
            self.assertEqual((st, body["error"]["code"]), (404, "unknown_endpoint"), path)
        self.assertEqual(self.inference_requests(), before)


class Messages(Base):
    """Anthropic's Messages API and count_tokens."""

    def test_create(self):
        raw = json.dumps(messages_body("Hi, Claude")).encode()
        st, _, out = self.jcall("POST", "/v1/messages", raw,
                                headers={"x-api-key": "sk-ant-1",
                                         "anthropic-version": "2023-06-01",
                                         "anthropic-beta": "tools-2024"})
        self.assertEqual(st, 200, out)
        self.assertEqual(out["content"][0]["text"], "echo: Hi, Claude")
        self.assertEqual(out["x_body_fnv"], fnv1a(raw))
        head = self.chain.tamper.heads[-1][2].lower()
        # The API key goes on for billing; the version headers do not
        # travel unauthenticated.
        self.assertIn("x-api-key: sk-ant-1", head)
        self.assertNotIn("anthropic-version", head)
        self.assertNotIn("anthropic-beta", head)
        req = json.loads(self.chain.tamper.requests[-1])
        self.assertEqual(list(req), ["model", "max_tokens", "ps2"])

    def test_stream(self):
        st, _, raw = self.call("POST", "/v1/messages",
                               messages_body("typed, too", stream=True, x_events=4))
        self.assertEqual(st, 200)
        evs = typed_events(raw)
        names = [n for n, _ in evs]
        self.assertEqual(names[:2], ["message_start", "content_block_start"])
        self.assertEqual(names[-2:], ["message_delta", "message_stop"])
        text = "".join(d["delta"]["text"] for n, d in evs if n == "content_block_delta")
        self.assertEqual(text, "echo: typed, too")
        self.assertEqual(b"".join(self.wire_contents("/v1/messages")), raw)
        wire = b"".join(self.chain.tamper.streams[-1])
        for needle in (b"event:", b"message_start", b"message_stop", b"text_delta"):
            self.assertNotIn(needle, wire)
        # message_delta's usage is plain, as a chat stream's.
        self.assertIn(b'"usage":{"output_tokens"', self.chain.tamper.streams[-1][-3])

    def test_tool_use(self):
        st, _, out = self.jcall("POST", "/v1/messages", messages_body(
            "call it", tools=[{"name": "lookup", "input_schema": {"type": "object"}}]))
        self.assertEqual(st, 200, out)
        self.assertEqual(out["content"][0]["type"], "tool_use")
        self.assertEqual(out["content"][0]["input"], {"text": "echo: call it"})
        self.assertFalse(self.chain.tamper.saw(b"lookup"))

    def test_count_tokens(self):
        raw = json.dumps({"model": "test-model", "messages": [
            {"role": "user", "content": "twelve bytes"}]}).encode()
        st, _, out = self.jcall("POST", "/v1/messages/count_tokens", raw)
        self.assertEqual(st, 200, out)
        self.assertEqual((out["input_tokens"], out["x_body_fnv"]), (3, fnv1a(raw)))


class Extras(Base):
    """vLLM's rerank (three paths), score, tokenize and detokenize."""

    def test_rerank_paths(self):
        for path in ("/v1/rerank", "/rerank", "/v2/rerank"):
            raw = json.dumps({"model": "test-model", "query": "which?",
                              "documents": ["alpha doc", "beta doc"]}).encode()
            st, _, out = self.jcall("POST", path, raw)
            self.assertEqual(st, 200, out)
            self.assertEqual((out["x_path"], out["x_body_fnv"]), (path, fnv1a(raw)))
            self.assertEqual([r["document"]["text"] for r in out["results"]],
                             ["alpha doc", "beta doc"])
            self.assertEqual(self.chain.tamper.heads[-1][1], path)
            self.assertEqual(list(json.loads(self.chain.tamper.responses[-1])),
                             ["usage", "ps2"])

    def test_score_tokenize_detokenize(self):
        st, _, out = self.jcall("POST", "/v1/score", {"model": "test-model",
                                                      "text_1": "a", "text_2": ["b", "c"]})
        self.assertEqual(st, 200, out)
        self.assertEqual(len(out["data"]), 2)
        st, _, tok = self.jcall("POST", "/tokenize", {"model": "test-model",
                                                      "prompt": "hé"})
        self.assertEqual(st, 200, tok)
        self.assertEqual(tok["tokens"], list("hé".encode()))
        st, _, de = self.jcall("POST", "/detokenize", {"model": "test-model",
                                                       "tokens": tok["tokens"]})
        self.assertEqual(st, 200, de)
        self.assertEqual(de["prompt"], "hé")
        st, _, body = self.jcall("POST", "/v1/tokenize", {"prompt": "x"})
        self.assertEqual((st, body["error"]["code"]), (404, "unknown_endpoint"))

    def test_no_plaintext_between_proxies(self):
        marker = "secret-%d" % time.time_ns()
        for method, path, body in (
                ("POST", "/v1/responses", {"model": "test-model", "input": marker}),
                ("POST", "/v1/responses", {"model": "test-model", "input": marker,
                                           "stream": True}),
                ("POST", "/v1/messages", messages_body(marker)),
                ("POST", "/v1/messages", messages_body(marker, stream=True)),
                ("POST", "/v1/messages/count_tokens", messages_body(marker)),
                ("POST", "/rerank", {"model": "test-model", "query": marker,
                                     "documents": [marker]}),
                ("POST", "/v1/score", {"model": "test-model", "text_1": marker,
                                       "text_2": marker}),
                ("POST", "/tokenize", {"model": "test-model", "prompt": marker}),
                ("POST", "/detokenize", {"model": "test-model",
                                         "tokens": list(marker.encode())})):
            st, _, _ = self.call(method, path, body)
            self.assertEqual(st, 200, path)
        rid = self.create_response(marker)["id"]
        for method, path in (("GET", "/v1/responses/" + rid),
                             ("GET", "/v1/responses/%s/input_items" % rid),
                             ("POST", "/v1/responses/%s/cancel" % rid)):
            st, _, _ = self.call(method, path)
            self.assertEqual(st, 200, path)
        t = self.chain.tamper
        self.assertFalse(t.saw(marker.encode()))
        self.assertFalse(t.saw(b"echo:"))
        self.assertFalse(t.saw(b"You are a test"))
        # tokenize's token ids are the prompt too.
        self.assertFalse(t.saw(",".join(str(b) for b in marker.encode()).encode()))
        time.sleep(0.2)
        self.assertNotIn(marker, self.chain.all_logs())


class Tampering(Base):
    """Each new wire element, changed by the relay: refused, never shown."""

    def typed_stream(self, path="/v1/responses", body=None):
        body = body or {"model": "test-model", "input": "tamper with me",
                        "stream": True, "x_events": 4}
        st, _, raw = self.call("POST", path, body)
        self.assertEqual(st, 200)
        return typed_events(raw)

    def assert_typed_error(self, evs, code):
        name, data = evs[-1]
        # Named, so that every SDK raises it (protocol.md section 5).
        self.assertEqual(name, "error")
        self.assertEqual(data["error"]["code"], code)
        self.assertNotIn("response.completed", [n for n, _ in evs])
        self.assertNotIn("message_stop", [n for n, _ in evs])

    def test_event_flipped(self):
        # The event name is sealed inside its event: a byte changed there
        # does not authenticate.
        self.tamper("flip_event", 2)
        evs = self.typed_stream()
        self.assert_typed_error(evs, "decrypt_failed")
        self.assertEqual(len(evs), 3)
        self.tamper("flip_event", 1)
        evs = self.typed_stream("/v1/messages", messages_body("flip", stream=True))
        self.assert_typed_error(evs, "decrypt_failed")
        self.assertEqual(len(evs), 2)

    def test_end_dropped(self):
        # Every event came, response.completed too, but not the final
        # record: the stream is reported as cut.
        self.tamper("drop_end")
        evs = self.typed_stream()
        self.assertEqual(evs[-2][0], "response.completed")
        self.assertEqual(evs[-1][0], "error")
        self.assertEqual(evs[-1][1]["error"]["code"], "stream_truncated")
        self.tamper("drop_end")
        evs = self.typed_stream("/v1/messages", messages_body("end", stream=True))
        self.assertEqual(evs[-2][0], "message_stop")
        self.assertEqual(evs[-1][1]["error"]["code"], "stream_truncated")

    def test_last_event_dropped(self):
        for path, body, last in (
                ("/v1/responses", None, "response.completed"),
                ("/v1/messages", messages_body("last", stream=True), "message_stop")):
            self.tamper("drop_last_event")
            evs = self.typed_stream(path, body)
            self.assertNotIn(last, [n for n, _ in evs])
            self.assert_typed_error(evs, "stream_truncated")

    def test_cut(self):
        self.tamper("cut_stream", 3)
        evs = self.typed_stream()
        self.assertEqual(len(evs), 4)
        self.assert_typed_error(evs, "stream_truncated")

    def test_bodyless_header_changed(self):
        rid = self.create_response("header")["id"]
        before = self.inference_requests()
        self.tamper("flip_header")
        self.assertError(400, "decrypt_failed",
                         self.jcall("GET", "/v1/responses/" + rid))
        self.assertError(400, "decrypt_failed",
                         self.jcall("POST", "/v1/responses/%s/cancel" % rid))
        self.assertEqual(self.inference_requests(), before)

    def test_bodyless_moved_to_another_id(self):
        a = self.create_response("first")["id"]
        b = self.create_response("second")["id"]
        before = self.inference_requests()
        for method, path, to in (("GET", "/v1/responses/" + a, "/v1/responses/" + b),
                                 ("DELETE", "/v1/responses/" + a, "/v1/responses/" + b),
                                 ("GET", "/v1/responses/%s/input_items" % a,
                                  "/v1/responses/%s/input_items" % b),
                                 ("GET", "/v1/responses/" + a,
                                  "/v1/responses/%s/input_items" % a),
                                 ("GET", "/v1/models/org%2Fm", "/v1/models/org%2fm")):
            self.tamper("reroute", to)
            self.assertError(400, "decrypt_failed", self.jcall(method, path))
        # An id the rule refuses, put there by the relay: the worker's own
        # 404, never forwarded.
        self.tamper("reroute", "/v1/responses/..%2Fmodels")
        self.assertError(404, "unknown_endpoint", self.jcall("GET", "/v1/responses/" + a))
        self.assertEqual(self.inference_requests(), before)
        self.tamper(None)
        st, _, got = self.jcall("GET", "/v1/responses/" + b)
        self.assertEqual((st, got["id"]), (200, b))

    def test_method_changed(self):
        rid = self.create_response("keep me alive")["id"]
        before = self.inference_requests()
        self.tamper("remethod", "DELETE")
        self.assertError(400, "decrypt_failed", self.jcall("GET", "/v1/responses/" + rid))
        self.tamper("remethod", "GET")
        self.assertError(400, "decrypt_failed", self.jcall("DELETE", "/v1/responses/" + rid))
        self.assertEqual(self.inference_requests(), before)
        self.tamper(None)
        st, _, got = self.jcall("GET", "/v1/responses/" + rid)
        self.assertEqual((st, got["id"]), (200, rid))

    def test_rerank_alias_changed(self):
        self.tamper("reroute", "/v2/rerank")
        self.assertError(400, "decrypt_failed", self.jcall(
            "POST", "/rerank", {"model": "test-model", "query": "q", "documents": ["d"]}))

    def test_plain_members_changed(self):
        before = self.inference_requests()
        for path, body, edit in (
                ("/v1/responses", {"model": "test-model", "input": "x",
                                   "max_output_tokens": 100}, {"max_output_tokens": 1}),
                ("/v1/messages", messages_body("x"), {"max_tokens": 1}),
                ("/v1/messages", messages_body("x"), {"model": "cheap"}),
                ("/v1/score", {"model": "test-model", "text_1": "a", "text_2": "b"},
                 {"text_1": "evil"})):
            self.tamper("edit_request", edit)
            self.assertError(400, "decrypt_failed", self.jcall("POST", path, body))
        self.assertEqual(self.inference_requests(), before)
        self.tamper("edit_reply", {"usage": None})
        self.assertError(502, "bad_upstream_response",
                         self.jcall("POST", "/rerank", {"model": "test-model",
                                                        "query": "q", "documents": ["d"]}))


class SdkCases:
    """The SDKs and curl; mixed into a ChainCase per web server pairing."""

    def node(self, script, base, *args):
        return super().node(script, base, *args,
                            mods=("openai", os.path.join("@anthropic-ai", "sdk")))

    def test_openai_responses(self):
        out = self.node("responses.mjs", "http://127.0.0.1:%d/v1" % self.chain.client_port)
        self.assertEqual(out.count("ok "), 8)

    def test_anthropic(self):
        out = self.node("anthropic.mjs", "http://127.0.0.1:%d" % self.chain.client_port)
        self.assertEqual(out.count("ok "), 6)

    def test_sdks_raise_a_cut_stream(self):
        # The final record dropped between the proxies: both SDKs raise
        # the client's named error event (protocol.md section 5).
        for script, base in (("responses.mjs", "/v1"), ("anthropic.mjs", "")):
            self.chain.tamper.mode = "drop_end"
            out = self.node(script, "http://127.0.0.1:%d%s" % (self.chain.client_port,
                                                            base), "cut")
            self.assertEqual(out.count("ok "), 1)
        self.chain.tamper.mode = None

    def test_curl(self):
        base = "http://127.0.0.1:%d" % self.chain.client_port
        j = ("-H", "Content-Type: application/json")
        for path in ("/v1/rerank", "/rerank", "/v2/rerank"):
            out = json.loads(self.curl(base + path, *j, "-d", json.dumps(
                {"model": "test-model", "query": "q", "documents": ["one", "two"]})))
            self.assertEqual((out["x_path"], len(out["results"])), (path, 2))
        out = json.loads(self.curl(base + "/v1/score", *j, "-d", json.dumps(
            {"model": "test-model", "text_1": "a", "text_2": "b"})))
        self.assertEqual(len(out["data"]), 1)
        tok = json.loads(self.curl(base + "/tokenize", *j, "-d", json.dumps(
            {"model": "test-model", "prompt": "curl ✓"})))
        self.assertEqual(tok["tokens"], list("curl ✓".encode()))
        de = json.loads(self.curl(base + "/detokenize", *j, "-d", json.dumps(
            {"model": "test-model", "tokens": tok["tokens"]})))
        self.assertEqual(de["prompt"], "curl ✓")


class SdkLighttpdToApache(SdkCases, cases.ChainCase):
    CHAIN = dict(client_web="lighttpd", worker_web="apache")


class SdkApacheToLighttpd(SdkCases, cases.ChainCase):
    CHAIN = dict(client_web="apache", worker_web="lighttpd")


if __name__ == "__main__":
    unittest.main(verbosity=2)

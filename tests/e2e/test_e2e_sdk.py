# SPDX-License-Identifier: ISC
"""The official OpenAI SDK (npm package "openai"), unchanged, and curl,
pointed at the client proxy's base URL."""

import json
import unittest

import cases

class OpenAISdk(cases.ChainCase):
    CHAIN = dict(client_web="lighttpd", worker_web="apache")

    def test_sdk(self):
        out = self.node("check.mjs", "http://127.0.0.1:%d/v1" % self.chain.client_port)
        self.assertEqual(out.count("ok "), 8)

    def test_curl(self):
        base = "http://127.0.0.1:%d/v1" % self.chain.client_port
        body = json.dumps({"model": "test-model",
                           "messages": [{"role": "user", "content": "from curl"}]})
        out = json.loads(self.curl(base + "/chat/completions", "-H",
                                   "Content-Type: application/json", "-d", body))
        self.assertEqual(out["choices"][0]["message"]["content"], "echo: from curl")
        stream = self.curl("-N", base + "/chat/completions", "-H",
                           "Content-Type: application/json", "-d",
                           json.dumps(dict(json.loads(body), stream=True)))
        events = [l[6:] for l in stream.splitlines() if l.startswith("data: ")]
        self.assertEqual(events[-1], "[DONE]")
        text = "".join(json.loads(e)["choices"][0]["delta"].get("content") or ""
                       for e in events[:-1] if json.loads(e)["choices"])
        self.assertEqual(text, "echo: from curl")
        models = json.loads(self.curl(base + "/models"))
        self.assertEqual(models["data"][0]["id"], "test-model")


if __name__ == "__main__":
    unittest.main(verbosity=2)

# SPDX-License-Identifier: ISC
"""The official OpenAI SDK (npm package "openai"), unchanged, and curl,
pointed at the client proxy's base URL."""

import json
import os
import shutil
import subprocess
import unittest

import cases

SDK = os.environ.get("PS_SDK_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "sdk")


class OpenAISdk(cases.ChainCase):
    CHAIN = dict(client_web="lighttpd", worker_web="apache")

    def test_sdk(self):
        node = shutil.which("node")
        self.assertIsNotNone(node, "node is missing: run scripts/deps")
        self.assertTrue(os.path.isdir(os.path.join(SDK, "node_modules", "openai")),
                        "the OpenAI SDK is missing: run scripts/deps")
        # The script runs from beside node_modules so its import resolves.
        r = subprocess.run([node, os.path.join(SDK, "check.mjs"),
                            "http://127.0.0.1:%d/v1" % self.chain.client_port],
                           capture_output=True, text=True, timeout=120)
        print(r.stdout + r.stderr)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout.count("ok "), 8)

    def curl(self, *args):
        curl = shutil.which("curl")
        self.assertIsNotNone(curl, "curl is missing: run scripts/deps")
        r = subprocess.run([curl, "-sS", "--fail-with-body"] + list(args),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

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

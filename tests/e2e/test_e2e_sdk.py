"""The official OpenAI SDK (npm package "openai"), unchanged, pointed at
the client proxy's base URL."""

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


if __name__ == "__main__":
    unittest.main(verbosity=2)

# SPDX-License-Identifier: ISC
"""The whole chain with lighttpd on both sides."""

import unittest

import cases

globals().update(cases.full_suite(client_web="lighttpd", worker_web="lighttpd"))


if __name__ == "__main__":
    unittest.main(verbosity=2)

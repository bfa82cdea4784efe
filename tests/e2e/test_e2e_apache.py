# SPDX-License-Identifier: ISC
"""The whole chain with apache on both sides."""

import unittest

import cases

globals().update(cases.full_suite(client_web="apache", worker_web="apache"))


if __name__ == "__main__":
    unittest.main(verbosity=2)

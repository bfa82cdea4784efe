"""The whole chain with lighttpd on both sides."""

import unittest

import cases

ARGS = dict(client_web="lighttpd", worker_web="lighttpd")


class RoundTrips(cases.RoundTrips):
    CHAIN = ARGS


class Wire(cases.Wire):
    CHAIN = ARGS


class Tampering(cases.Tampering):
    CHAIN = ARGS


class Errors(cases.Errors):
    CHAIN = ARGS


class KeyFiles(cases.KeyFiles):
    CHAIN = ARGS


class Outages(cases.Outages):
    CHAIN = dict(ARGS, worker_args=["--upstream-timeout", "2"])


if __name__ == "__main__":
    unittest.main(verbosity=2)

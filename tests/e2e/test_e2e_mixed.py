# SPDX-License-Identifier: ISC
"""Each web server on each side, the web servers' own launchers, and real
TLS between the proxies."""

import unittest

import cases


class LighttpdToApache(cases.RoundTrips):
    CHAIN = dict(client_web="lighttpd", worker_web="apache")


class ApacheToLighttpd(cases.RoundTrips):
    CHAIN = dict(client_web="apache", worker_web="lighttpd")


class BinPath(cases.RoundTrips):
    # lighttpd starts both proxies itself (bin-path).
    CHAIN = dict(client_web="lighttpd-binpath", worker_web="lighttpd-binpath")


class Fcgid(cases.RoundTrips):
    # Apache's mod_fcgid starts the worker.
    CHAIN = dict(client_web="lighttpd", worker_web="apache-fcgid")


class TlsLighttpd(cases.RoundTrips):
    # https between the proxies, verified against a private CA.
    CHAIN = dict(client_web="lighttpd", worker_web="lighttpd", tls=True)


class TlsApache(cases.RoundTrips):
    CHAIN = dict(client_web="apache", worker_web="apache", tls=True)


class OwnSocket(cases.RoundTrips):
    # The worker binds its socket itself (--socket), no spawn-fcgi.
    CHAIN = dict(client_web="lighttpd", worker_web="lighttpd", worker_launch="socket")


class Lifecycle(cases.Lifecycle):
    CHAIN = dict(client_web="lighttpd", worker_web="lighttpd", worker_launch="socket")


if __name__ == "__main__":
    unittest.main(verbosity=2)

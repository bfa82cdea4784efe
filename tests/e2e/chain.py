# SPDX-License-Identifier: ISC
"""Start and stop the real promptseal chain for end-to-end tests:

    user (urllib) -> client web server -> promptseal-client
        -> [tamper proxy] -> worker web server -> promptseal-worker
        -> test inference server (UNIX socket)

and, with as_web set, the key exchange of protocol.md section 8 instead of
pre-shared keys:

    promptseal-client --(TLS, token)--> AS web server -> promptseal-as
    promptseal-keysync --(TLS, evidence)--^      |
          +--> worker's key cache <--------------+

Web servers are real lighttpd or Apache on loopback ports, the proxies run
under spawn-fcgi (or the web server's own launcher), TLS is real.  When the
tests run as root, every server process runs as an unprivileged user.
Every process started is stopped again, also when a test fails."""

import atexit
import base64
import http.client
import http.server
import json
import os
import pwd
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import pswire  # noqa: E402
import simas  # noqa: E402

BUILD = os.environ.get("PS_BUILDDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
SRC = os.environ.get("PS_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
LIGHTTPD = os.environ.get("LIGHTTPD") or shutil.which("lighttpd") or "/usr/sbin/lighttpd"
APACHE = os.environ.get("APACHE2") or shutil.which("apache2") or "/usr/sbin/apache2"
SPAWN_FCGI = os.environ.get("SPAWN_FCGI") or shutil.which("spawn-fcgi") or "/usr/bin/spawn-fcgi"

_live = []


def _kill_all():
    for p in reversed(_live):
        _stop(p)
    _live.clear()


atexit.register(_kill_all)


def _on_signal(sig, frame):
    _kill_all()
    sys.exit(128 + sig)


signal.signal(signal.SIGTERM, _on_signal)


def _stop(p, timeout=5):
    if p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, what, timeout=10, proc=None):
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("%s exited with status %d" % (what, proc.returncode))
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.02)
    raise RuntimeError("timed out waiting for " + what)


def port_open(port):
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def unix_open(path):
    if not os.path.exists(path):
        return False
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(path)
        return True


class Http:
    """A plain HTTP/1.1 client for the user's side (keep-alive)."""

    def __init__(self, port):
        self.port = port

    def request(self, method, path, body=None, headers=None, timeout=30):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data
        finally:
            c.close()

    def json(self, method, path, body=None, headers=None, timeout=30):
        status, hdrs, data = self.request(method, path, body, headers, timeout)
        return status, hdrs, json.loads(data) if data else None

    def stream(self, path, body, timeout=30):
        """POST and return (status, list of (arrival time, line))."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request("POST", path, body=json.dumps(body).encode(),
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            lines, buf = [], b""
            while True:
                chunk = r.read1(65536)
                if not chunk:
                    break
                buf += chunk
                while True:
                    k = buf.find(b"\n")
                    if k < 0:
                        break
                    line, buf = buf[:k], buf[k + 1:]
                    lines.append((time.monotonic(), line.decode().rstrip("\r")))
            if buf:
                lines.append((time.monotonic(), buf.decode()))
            return r.status, lines
        finally:
            c.close()


def data_events(lines):
    """The values of the data lines of a stream."""
    out = []
    for _, line in lines:
        if line.startswith("data:"):
            v = line[5:]
            out.append(v[1:] if v.startswith(" ") else v)
    return out


class TamperProxy:
    """An HTTP/1.1 relay between the client proxy and the worker's web
    server: the party that version 2 of the wire format protects against.
    It records every message that crosses and, by mode, changes, drops,
    reorders, replays or forges them (see _request, _reply, _event)."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.mode = None          # name of a tampering, see below
        self.arg = None
        self.keys = None          # the chain's keys, for forging as a node would
        self.requests = []        # raw request bodies (a header envelope for GET)
        self.heads = []           # (method, path, headers text) of each request
        self.responses = []       # raw response bodies seen
        self.streams = []         # per streamed reply: its raw wire events
        self.saved = None         # a message kept for replay
        self.saved_events = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                proxy._handle(self, None)

            def do_DELETE(self):
                proxy._handle(self, None)

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                proxy._handle(self, self.rfile.read(n))

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def reset(self):
        self._held = None
        self.mode = None
        self.arg = None
        self.saved = None
        self.saved_events = []

    # -- what crossed ----------------------------------------------------
    def saw(self, needle):
        """True when needle (bytes) crossed in any body, head or path,
        either way."""
        with self.lock:
            heads = [("%s %s\n%s" % h).encode() for h in self.heads]
            return any(needle in b for b in self.requests + self.responses + heads)

    # -- the relay ---------------------------------------------------------
    def _forward(self, method, path, headers, body):
        c = http.client.HTTPConnection("127.0.0.1", self.target_port, timeout=60)
        c.request(method, path, body=body, headers=headers)
        return c, c.getresponse()

    def _handle(self, h, body):
        mode = self.mode
        hdrs = {k: v for k, v in h.headers.items()
                if k.lower() not in ("host", "content-length", "connection")}
        method, path = h.command, h.path
        with self.lock:
            self.requests.append(body if body is not None else
                                 h.headers.get("Promptseal-Request", "").encode())
            self.heads.append((method, path, str(h.headers)))
        if mode == "reflect" and body is not None:
            return self._reply(h, 200, "application/json", body, encrypted="true")
        if mode == "plain_reply":
            fake = json.dumps({"id": "x", "object": "chat.completion", "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "FORGED"}}]})
            return self._reply(h, 200, "application/json", fake.encode(), encrypted="false")
        if mode == "evil_error":
            status, code = self.arg or (502, "upstream_unavailable")
            fake = json.dumps({"error": {"message": "visit http://evil.example/login",
                                         "type": "invalid_request_error", "code": code}})
            return self._reply(h, status, "application/json", fake.encode(),
                               encrypted="false")
        if mode == "html_models" and method == "GET":
            page = b"<html><script>alert('pwned')</script></html>"
            return self._reply(h, 200, "text/html", page)
        method, path, hdrs, body = self._request(mode, method, path, hdrs, body)
        try:
            c, r = self._forward(method, path, hdrs, body)
            if mode == "double_request":
                # The same request once more, as a replaying relay would:
                # the user gets the second answer.
                r.read()
                c.close()
                c, r = self._forward(method, path, hdrs, body)
        except OSError:
            # Like a TCP relay whose far side is gone: drop the connection.
            h.close_connection = True
            return
        ctype = r.getheader("Content-Type", "")
        enc = r.getheader("Promptseal-Encrypted")
        if ctype.startswith("text/event-stream"):
            return self._relay_stream(h, r, c, enc, mode, body)
        data = r.read()
        c.close()
        with self.lock:
            self.responses.append(data)
        status = r.status
        if mode == "hide_reply":
            # The request went through; the user is told the worker did
            # not know its key, as a worker would say it, in plain.
            status, code = self.arg or (422, "unknown_key")
            fake = json.dumps({"error": {"message": "unknown key",
                                         "type": "invalid_request_error", "code": code}})
            return self._reply(h, status, "application/json", fake.encode(),
                               encrypted="false")
        if mode == "flip_response":
            data = self._flip(data)
        elif mode == "replay":
            if self.saved is None:
                self.saved = data
            else:
                data = self.saved
        elif mode == "relabel_status":
            status = self.arg
        elif mode == "relabel_type" and (self.arg[0] is None or method == self.arg[0]):
            ctype = self.arg[1]
        elif mode == "edit_reply":
            data = edit_members(data, self.arg)
        self._reply(h, status, ctype, data, encrypted=enc)

    def _request(self, mode, method, path, hdrs, body):
        if body is not None and mode == "flip_request":
            body = self._flip(body)
        elif body is not None and mode == "swap_request":
            d = json.loads(body)
            names = [k for k in d if k != "ps2"][:2]
            if len(names) == 2:
                a, b = names
                items = list(d.items())
                i, j = list(d).index(a), list(d).index(b)
                items[i], items[j] = items[j], items[i]
                d = dict(items)
            body = json.dumps(d, separators=(",", ":")).encode()
        elif body is not None and mode == "edit_request":
            body = edit_members(body, self.arg)
        elif mode == "reroute":
            path = self.arg
        elif mode == "remethod":
            method = self.arg
            if method in ("GET", "DELETE"):
                body = None
        elif mode == "flip_header" and "Promptseal-Request" in hdrs:
            hdrs["Promptseal-Request"] = self._flip(
                hdrs["Promptseal-Request"].encode()).decode()
        elif mode == "add_query":
            path = path + "?" + self.arg
        elif mode == "replay_request":
            if self.saved is None:
                self.saved = (method, path, dict(hdrs), body)
            else:
                method, path, hdrs, body = self.saved
        return method, path, hdrs, body

    def _reply(self, h, status, ctype, data, encrypted=None):
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        if encrypted is not None:
            h.send_header("Promptseal-Encrypted", encrypted)
        h.end_headers()
        h.wfile.write(data)

    def _forged_reply_events(self, body):
        """The events of a second reply to the request body, sealed with
        the chain's key under a reply value of its own: what a second node
        that the request was replayed to would send."""
        kid, secret, _ = self.keys[0]
        k, nonce, _, _ = pswire.wire_envelope(body, pswire.Q)
        upstream = b"".join(
            b'data: {"id":"chatcmpl-test","choices":[{"index":0,"delta":'
            b'{"content":"%s"}}]}\n\n' % t for t in (b"No,", b" it is", b" safe."))
        wire = pswire.seal_stream(secret, k, nonce, os.urandom(16),
                                  pswire.CHAT, upstream + b"data: [DONE]\n\n")
        return [e + b"\n\n" for e in wire.split(b"\n\n") if e]

    def _relay_stream(self, h, r, c, enc, mode, body):
        status = self.arg if mode == "relabel_status" else r.status
        h.send_response(status)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Transfer-Encoding", "chunked")
        # The relay closes the connection after a stream: say so, or the
        # client's libcurl keeps it and may send its next request into
        # the close (a race that a faster client wins more often).
        h.send_header("Connection", "close")
        if enc is not None:
            h.send_header("Promptseal-Encrypted", enc)
        h.end_headers()
        events, n, seen, buf, cut = [], 0, b"", b"", False
        forged = self._forged_reply_events(body) if mode == "splice" else None
        with self.lock:
            self.streams.append(events)
        while True:
            chunk = r.read1(65536)
            if not chunk:
                break
            seen += chunk
            buf += chunk
            while b"\n\n" in buf:
                ev, buf = buf.split(b"\n\n", 1)
                ev += b"\n\n"
                events.append(ev)
                out = self._event(mode, n, ev, forged)
                if out is None:
                    cut = True
                    break
                for piece in out:
                    h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                h.wfile.flush()
                n += 1
            if cut:
                break
        c.close()
        with self.lock:
            self.responses.append(seen)
        if mode == "replay" and self.saved is None:
            self.saved = seen
            self.saved_events = [e + b"\n\n" for e in seen.split(b"\n\n")
                                 if e.startswith(b"data: {")]
        # End the chunked body cleanly: only the stream inside is changed.
        h.wfile.write(b"0\r\n\r\n")
        h.wfile.flush()
        h.close_connection = True

    def _event(self, mode, n, ev, forged):
        """What goes on for wire event n: a list of pieces, or None to cut
        the stream here."""
        arg = self.arg
        if mode == "drop_end" and ev.startswith(b"data: ps2:"):
            return []
        if mode == "drop_last_event":
            # Hold each event back one place: the one before the final
            # record is dropped, the final record goes on.
            held, self._held = getattr(self, "_held", None), ev
            if ev.startswith(b"data: ps2:"):
                return [ev]
            return [held] if held is not None and n > 0 else []
        if mode == "cut_stream" and n >= (arg or 2):
            return None
        if mode == "flip_event" and n == (arg or 1):
            return [self._flip(ev)]
        if mode == "swap_events":
            if n == 1:
                self._held = ev
                return []
            if n == 2:
                return [ev, self._held]
        if mode == "replay" and self.saved is not None and ev.startswith(b"data: {"):
            return [self.saved_events.pop(0) if self.saved_events else ev]
        if mode == "edit_events" and ev.startswith(b"data: {"):
            return [b"data: " + edit_members(ev[6:-2], arg) + b"\n\n"]
        if mode == "inject" and n == 1:
            return [arg, ev]
        if mode == "splice" and n >= 2:
            # The rest from the other reply, its final record included.
            return [forged[n]] if n < len(forged) else []
        return [ev]

    @staticmethod
    def _flip(data):
        # Change one character inside the envelope's ciphertext.
        i = data.find(b"ps2:")
        j = i + 120 if i >= 0 else len(data) // 2
        j = min(j, len(data) - 4)
        b = bytearray(data)
        c = chr(b[j])
        b[j] = ord("B" if c == "A" else "A")
        return bytes(b)


def edit_members(wire, edits):
    """The wire JSON with members changed: edits is a dict of name to a
    new value (None deletes the member); a name not there is added
    first.  Written back without whitespace, as the proxies write it."""
    d = json.loads(wire)
    for name, value in edits.items():
        if value is None:
            d.pop(name, None)
        elif name in d:
            d[name] = value
        else:
            d = dict([(name, value)] + list(d.items()))
    return json.dumps(d, separators=(",", ":"), ensure_ascii=False).encode()


class AsRelay:
    """A TLS relay between promptseal-keysync and the AS's web server (it
    has a certificate of the test CA, so keysync trusts it).  It records
    every HTTP message that crosses, as it travels inside TLS, and in mode
    "tamper_keys" flips a bit of the wrapped blob of each fetch reply; in
    mode "forge_join" it answers a join with a storage key of its own (all
    0x66) wrapped to the joiner's key, beside the peer's real evidence.
    It stands between promptseal-as instances too."""

    def __init__(self, target_port, cert_pem, ca_file):
        self.target_port = target_port
        self.mode = None
        self.wire = []            # raw requests and replies, head and body
        self.lock = threading.Lock()
        self.up_ctx = ssl.create_default_context(cafile=ca_file)
        relay = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                relay._handle(self, self.rfile.read(n))

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert_pem)
        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def _handle(self, h, body):
        head = ("%s %s %s\r\n" % (h.command, h.path, h.request_version)).encode()
        head += bytes(h.headers)
        with self.lock:
            self.wire.append(head + body)
        c = http.client.HTTPSConnection("localhost", self.target_port,
                                        context=self.up_ctx, timeout=30)
        hdrs = {k: v for k, v in h.headers.items()
                if k.lower() not in ("host", "content-length", "connection")}
        try:
            c.request("POST", h.path, body=body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
        finally:
            c.close()
        if self.mode == "tamper_keys" and h.path.endswith("/v1/fetch") and r.status == 200:
            j = json.loads(data)
            blob = bytearray(base64.urlsafe_b64decode(j["keys"] + "=" * (-len(j["keys"]) % 4)))
            blob[-20] ^= 0x01            # inside the sealed records
            j["keys"] = base64.urlsafe_b64encode(bytes(blob)).rstrip(b"=").decode()
            data = json.dumps(j).encode()
        if self.mode == "forge_join" and h.path.endswith("/v1/join") and r.status == 200:
            q, j = json.loads(body), json.loads(data)
            j["keys"] = simas.b64url(simas.wrap(
                simas.new_x25519(), simas.unb64url(q["pubkey"]),
                simas.unb64url(q["challenge"]), b"\x66" * 32))
            data = json.dumps(j).encode()
        reply = ("HTTP/1.1 %d %s\r\n" % (r.status, r.reason)).encode()
        for k, v in r.getheaders():
            if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                reply += ("%s: %s\r\n" % (k, v)).encode()
        with self.lock:
            self.wire.append(reply + b"\r\n" + data)
        h.send_response(r.status)
        h.send_header("Content-Type", r.getheader("Content-Type", "application/json"))
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def saw(self, needle):
        with self.lock:
            return any(needle in b for b in self.wire)


class Chain:
    """One whole chain.  web: (client side, worker side), each "lighttpd",
    "lighttpd-binpath", "apache" or "apache-fcgid" (worker side only)."""

    def __init__(self, client_web="lighttpd", worker_web="lighttpd", tls=False,
                 tamper=True, worker_args=(), client_args=(), inference_args=(),
                 worker_launch="spawn-fcgi", as_web=None, key_ttl=3600,
                 keysync_args=(), as_args=()):
        """as_web: None (pre-shared keys), "lighttpd" or "apache" in front
        of promptseal-as, with keysync and the client's AS mode."""
        self.client_web, self.worker_web = client_web, worker_web
        self.as_web, self.key_ttl = as_web, key_ttl
        self.keysync_args, self.as_args = list(keysync_args), list(as_args)
        self.tls, self.use_tamper = tls, tamper
        self.worker_args, self.client_args = list(worker_args), list(client_args)
        self.inference_args = list(inference_args)
        self.worker_launch = worker_launch
        self.procs = {}
        self.tamper = None
        self.user = None
        if os.geteuid() == 0:
            self.user = pwd.getpwnam("nobody")

    # -- files ---------------------------------------------------------
    def own(self, path):
        if self.user:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def write_keys(self, path, keys, mode=0o600):
        pswire.write_keyfile(path, keys, mode)
        self.own(path)

    def set_keys(self, keys, worker_keys=None):
        """Give the client keys and the worker worker_keys (default: the same)."""
        self.keys = keys
        if self.tamper:
            self.tamper.keys = keys
        self.write_keys(self.client_keys, keys)
        self.write_keys(self.worker_keys, keys if worker_keys is None else worker_keys)

    def log(self, name):
        p = os.path.join(self.dir, name)
        if not os.path.exists(p):
            return ""
        with open(p, errors="replace") as f:
            return f.read()

    def all_logs(self):
        out = ""
        for n in sorted(os.listdir(self.dir)):
            if n.endswith(".log"):
                out += self.log(n)
        return out

    # -- processes -----------------------------------------------------
    def _start(self, name, argv, env=None, logname=None):
        logf = open(os.path.join(self.dir, (logname or name) + ".log"), "ab")
        kw = {}
        if self.user:
            kw = dict(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
        e = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": self.dir}
        e.update(env or {})
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                             env=e, cwd=self.dir, start_new_session=True, **kw)
        logf.close()
        _live.append(p)
        self.procs[name] = p
        return p

    def stop_proc(self, name):
        p = self.procs.pop(name, None)
        if p:
            _stop(p)
            if p in _live:
                _live.remove(p)

    def start_inference(self):
        self.inference_sock = os.path.join(self.dir, "inference.sock")
        self._start("inference", [os.path.join(BUILD, "tests", "inference-server"),
                                  "--socket", self.inference_sock,
                                  "--record", os.path.join(self.dir, "inference.record")]
                    + self.inference_args)
        wait_for(lambda: unix_open(self.inference_sock), "the inference server",
                 proc=self.procs["inference"])

    def _spawn(self, name, sock, argv):
        # spawn-fcgi binds the socket before the program runs: wait for the
        # program's own "serving" line too, so that a signal sent next finds
        # the stop signals blocked and taken by the program, not by default.
        serving = self.log(name + ".log").count("serving with")
        p = self._start(name, [SPAWN_FCGI, "-n", "-s", sock, "-M", "0660", "--"] + argv)
        wait_for(lambda: unix_open(sock), name, proc=p)
        wait_for(lambda: self.log(name + ".log").count("serving with") > serving,
                 name + " serving", proc=p)

    def run(self, argv, timeout=60):
        """Run a program to its end as the servers' user; returns the
        CompletedProcess (stdout and stderr as text)."""
        kw = {}
        if self.user:
            kw = dict(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
        return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, cwd=self.dir, timeout=timeout,
                              env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                                   "HOME": self.dir}, **kw)

    def private_file(self, name, text):
        """Write a file of mode 0600 that belongs to the servers' user."""
        path = os.path.join(self.dir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        self.own(path)
        return path

    # -- the attestation service --------------------------------------
    def setup_as(self):
        """Tokens, the sim platform key pair and the worker's measurement."""
        d = self.dir
        self.as_token = "e2e-token-" + os.urandom(16).hex()
        self.as_tokens = self.private_file("as-tokens", "# clients\n" + self.as_token + "\n")
        self.client_token = self.private_file("client-token", self.as_token + "\n")
        self.platform_key = os.path.join(d, "platform.key")
        self.platform_pub = os.path.join(d, "platform.pub")
        subprocess.run([self.sim_bin, "keygen", self.platform_key, self.platform_pub],
                       check=True, capture_output=True)
        self.own(self.platform_key)
        self.own(self.platform_pub)
        out = subprocess.run([self.sim_bin, "measure", self.worker_bin], check=True,
                             capture_output=True, text=True)
        self.measurement = out.stdout.strip()
        out = subprocess.run([self.sim_bin, "measure", self.as_bin], check=True,
                             capture_output=True, text=True)
        self.as_measurement = out.stdout.strip()
        self.storage_key_file = os.path.join(d, "as.storage")
        self.write_policy()
        self.key_state = os.path.join(d, "client-state.json")
        self.keysync_sock = os.path.join(d, "keysync.sock")
        self.as_sock = os.path.join(d, "as.sock")
        self.as_port = free_port()
        self.as_url = "https://localhost:%d/as" % self.as_port

    def platform_pub_hex(self, path=None):
        from cryptography.hazmat.primitives import serialization
        with open(path or self.platform_pub, "rb") as f:
            k = serialization.load_pem_public_key(f.read())
        return k.public_bytes(serialization.Encoding.Raw,
                              serialization.PublicFormat.Raw).hex()

    def write_policy(self, extra=""):
        """The user's trust policy (docs/attestation.md): this AS build, the
        sim platform key, this worker build."""
        self.as_policy = os.path.join(self.dir, "as-policy")
        with open(self.as_policy, "w") as f:
            f.write("# what this user accepts\n"
                    "as-measurement %s\nplatform-key sim %s\n"
                    "worker-measurement %s\n%s" % (
                        self.as_measurement, self.platform_pub_hex(),
                        self.measurement, extra))
        os.chmod(self.as_policy, 0o644)

    def as_argv(self, db="as.db", storage=None):
        return [self.as_bin, "--db", os.path.join(self.dir, db),
                "--tokens", self.as_tokens, "--platform-key", self.platform_pub,
                "--measurement", self.measurement, "--threads", "4",
                "--max-ttl", "86400", "--attest-key", self.platform_key,
                "--attest-measurement-of", self.as_bin,
                "--storage-key-file", storage or self.storage_key_file]

    def start_as(self, web=True):
        argv = self.as_argv() + self.as_args
        self._spawn("as", self.as_sock, argv)
        if web:
            self._web("as", self.as_web, self.as_port)

    def restart_as_empty(self):
        """Restart promptseal-as with an empty store: it has lost every
        secret."""
        self.stop_proc("as")
        for n in ("as.db", "as.db-wal", "as.db-shm"):
            p = os.path.join(self.dir, n)
            if os.path.exists(p):
                os.unlink(p)
        self.start_as(web=False)

    def keysync_now(self):
        """Ask keysync for a fetch, as a worker does."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(b"r", self.keysync_sock)

    def keysync_argv(self, cache=None, as_url=None, once=False, platform_key=None,
                     measurement=None):
        argv = [self.keysync_bin, "--as-url", as_url or self.as_url,
                "--ca-file", self.ca, "--key-cache", cache or self.worker_keys,
                "--platform-key", platform_key or self.platform_key, "--timeout", "5"]
        argv += (["--measurement", measurement] if measurement else
                 ["--measurement-of", self.worker_bin])
        if once:
            return argv + ["--once"]
        return argv + ["--notify-socket", self.keysync_sock, "--max-backoff", "2",
                       "--log-level", "debug"] + self.keysync_args

    def start_keysync(self):
        p = self._start("keysync", self.keysync_argv())
        # Its first fetch writes the cache, empty or not.
        wait_for(lambda: os.path.exists(self.keysync_sock) and
                 os.path.exists(self.worker_keys), "keysync", proc=p)

    def start_worker(self):
        self.worker_sock = os.path.join(self.dir, "worker.sock")
        argv = [self.worker_bin, "--key-cache", self.worker_keys,
                "--upstream", "unix:" + self.inference_sock, "--threads", "4",
                "--max-body", "4M"] + self.worker_args
        if self.as_web:
            argv += ["--keysync-notify", self.keysync_sock]
        if self.worker_launch == "socket":
            # The worker binds the socket itself.
            p = self._start("worker", argv + ["--socket", self.worker_sock])
            wait_for(lambda: unix_open(self.worker_sock), "worker", proc=p)
        elif self.worker_web in ("lighttpd", "apache"):
            self._spawn("worker", self.worker_sock, argv)

    def start_client(self):
        self.client_sock = os.path.join(self.dir, "client.sock")
        up = "%s://%s:%d" % ("https" if self.tls else "http",
                             "localhost" if self.tls else "127.0.0.1", self.worker_hop_port)
        self.upstream_url = up
        argv = [self.client_bin, "--upstream", up] + self.client_key_args() + [
                "--threads", "4", "--max-body", "2M"] + self.client_args
        if self.tls:
            argv += ["--ca-file", self.ca]
        if self.client_web in ("lighttpd", "apache"):
            self._spawn("client", self.client_sock, argv)

    def client_key_args(self, token_file=None, key_state=None):
        if not self.as_web:
            return ["--key-file", self.client_keys]
        return ["--as-url", self.as_url, "--as-ca-file", self.ca,
                "--as-token-file", token_file or self.client_token,
                "--key-state", key_state or self.key_state,
                "--key-ttl", str(self.key_ttl), "--as-policy", self.as_policy]

    def _web(self, role, kind, port):
        env = {"PS_PORT": str(port), "PS_DIR": self.dir, "PS_ROLE": role,
               "PS_CONF_DIR": self.apache_conf,
               "PS_WORKER_SOCK": getattr(self, "worker_sock", ""),
               "PS_CLIENT_SOCK": self.client_sock if role == "client" else "",
               "PS_WORKER_BIN": self.worker_bin, "PS_CLIENT_BIN": self.client_bin,
               "PS_KEY_CACHE": self.worker_keys, "PS_KEY_FILE": self.client_keys,
               "PS_INFERENCE_SOCK": getattr(self, "inference_sock", ""),
               "PS_UPSTREAM": getattr(self, "upstream_url", ""),
               "PS_CA_FILE": getattr(self, "ca", "/dev/null"),
               "PS_TLS_PEM": getattr(self, "tls_pem", ""),
               "PS_AS_SOCK": getattr(self, "as_sock", ""),
               "PS_AS_URL": getattr(self, "as_url", ""),
               "PS_AS_CA_FILE": getattr(self, "ca", ""),
               "PS_AS_TOKEN_FILE": getattr(self, "client_token", ""),
               "PS_KEY_STATE": getattr(self, "key_state", ""),
               "PS_KEY_TTL": str(self.key_ttl),
               "PS_AS_POLICY": getattr(self, "as_policy", "")}
        if role == "as":
            server = LIGHTTPD if kind == "lighttpd" else APACHE
            conf = os.path.join(self.lighttpd_conf if kind == "lighttpd" else
                                self.apache_conf, "as-tls.conf")
            self._start("web-as", [server, "-D", "-f", conf] if kind == "lighttpd" else
                        [server, "-f", conf, "-DFOREGROUND"], env)
        elif kind == "lighttpd-binpath" and role == "client" and self.as_web:
            self._start("web-client", [LIGHTTPD, "-D", "-f", os.path.join(
                self.lighttpd_conf, "client-as-binpath.conf")], env)
        elif kind.startswith("lighttpd"):
            conf = role + ("-binpath" if kind == "lighttpd-binpath" else
                           "-tls" if (role == "worker" and self.tls) else "") + ".conf"
            self._start("web-" + role, [LIGHTTPD, "-D", "-f",
                                        os.path.join(self.lighttpd_conf, conf)], env)
        else:
            conf = role + ("-fcgid" if kind == "apache-fcgid" else
                           "-tls" if (role == "worker" and self.tls) else "") + ".conf"
            self._start("web-" + role, [APACHE, "-f", os.path.join(self.apache_conf, conf),
                                        "-DFOREGROUND"], env)
        wait_for(lambda: port_open(port), "%s web server (%s)" % (role, kind),
                 proc=self.procs["web-" + role])

    def make_tls(self):
        d = self.dir
        self.ca = os.path.join(d, "ca.pem")
        run = lambda *a: subprocess.run(a, check=True, capture_output=True, cwd=d)
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=promptseal test CA")
        run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", "worker.key", "-out", "worker.csr", "-subj", "/CN=localhost")
        with open(os.path.join(d, "ext.cnf"), "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        run("openssl", "x509", "-req", "-in", "worker.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "worker.crt", "-days", "2", "-extfile", "ext.cnf")
        self.tls_pem = os.path.join(d, "worker.pem")
        self.tls_key = os.path.join(d, "worker.key")
        self.tls_crt = os.path.join(d, "worker.crt")
        with open(self.tls_pem, "w") as f:
            for n in ("worker.crt", "worker.key"):
                with open(os.path.join(d, n)) as part:
                    f.write(part.read())
        for n in ("worker.pem", "worker.key", "worker.crt", "ca.pem"):
            self.own(os.path.join(d, n))

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="ps-e2e-")
        os.chmod(self.dir, 0o755)
        self.own(self.dir)
        # Programs and configurations are copied so an unprivileged user
        # can run them whatever the permissions of the checkout.
        bindir = os.path.join(self.dir, "bin")
        os.mkdir(bindir)
        for prog in ("fcgi-client/promptseal-client", "fcgi-worker/promptseal-worker",
                     "fcgi-as/promptseal-as", "keysync/promptseal-keysync",
                     "keysync/promptseal-sim"):
            shutil.copy(os.path.join(BUILD, prog), bindir)
        self.client_bin = os.path.join(bindir, "promptseal-client")
        self.worker_bin = os.path.join(bindir, "promptseal-worker")
        self.as_bin = os.path.join(bindir, "promptseal-as")
        self.keysync_bin = os.path.join(bindir, "promptseal-keysync")
        self.sim_bin = os.path.join(bindir, "promptseal-sim")
        self.lighttpd_conf = os.path.join(self.dir, "lighttpd-conf")
        self.apache_conf = os.path.join(self.dir, "apache-conf")
        shutil.copytree(os.path.join(SRC, "lighttpd-conf"), self.lighttpd_conf)
        shutil.copytree(os.path.join(SRC, "apache-conf"), self.apache_conf)
        os.makedirs(os.path.join(self.dir, "fcgid"))
        for root, dirs, files in os.walk(self.dir):
            for n in dirs + files:
                self.own(os.path.join(root, n))
        self.client_keys = os.path.join(self.dir, "client-keys.json")
        self.worker_keys = os.path.join(self.dir, "worker-keys.json")
        if not self.as_web:
            kid, secret = pswire.new_key()
            self.set_keys([(kid, secret, int(time.time()) + 3600)])
        else:
            self.keys = None          # nothing pre-shared
        try:
            if self.tls or self.as_web:
                self.make_tls()
            if self.as_web:
                self.setup_as()
                self.start_as()
            self.start_inference()
            if self.as_web:
                self.start_keysync()
            self.start_worker()
            self.worker_port = free_port()
            self._web("worker", self.worker_web, self.worker_port)
            self.worker_hop_port = self.worker_port
            if self.use_tamper and not self.tls:
                self.tamper = TamperProxy(self.worker_port)
                self.tamper.keys = self.keys
                self.worker_hop_port = self.tamper.port
            self.client_sock = os.path.join(self.dir, "client.sock")
            self.start_client()
            self.client_port = free_port()
            self._web("client", self.client_web, self.client_port)
        except Exception:
            sys.stderr.write(self.all_logs())
            self.stop()
            raise
        self.user_http = Http(self.client_port)
        self.worker_http = Http(self.worker_port)
        return self

    def stop(self, keep=False):
        for name in list(self.procs):
            self.stop_proc(name)
        if self.tamper:
            self.tamper.close()
        # Under --enable-sanitizers a report in any log fails the run.
        logs = self.all_logs()
        self.sanitizer_reports = [l for l in logs.splitlines() if any(
            m in l for m in ("AddressSanitizer", "LeakSanitizer", "runtime error:"))]
        if not keep and os.environ.get("PS_KEEP") is None:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

    def recorded(self):
        """What the inference server received: a list of (path, body)."""
        out = []
        p = os.path.join(self.dir, "inference.record")
        if os.path.exists(p):
            # One line per request: METHOD TARGET BASE64(body)
            with open(p) as f:
                for line in f:
                    method, path, body = line.rstrip("\n").split(" ")
                    out.append({"method": method, "path": path,
                                "body": base64.b64decode(body).decode()})
        return out

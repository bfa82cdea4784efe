#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""The promptseal benchmark (`make bench`): what the encryption costs, side
by side with a plain proxy chain, measured in one run on one machine.

Three targets share one test inference server (UNIX socket, no --record):

  enc     wrk -> lighttpd -> promptseal-client -> lighttpd
              -> promptseal-worker -> inference server
  plain   wrk -> lighttpd (mod_proxy) -> lighttpd (mod_proxy)
              -> inference server
  direct  wrk -> inference server (wrk reaches the UNIX socket through
              bench/unix-connect.so, an LD_PRELOAD shim: no relay process)

For every prompt size x {non-streamed, streamed} x concurrency, wrk runs
against the three in turn (bench/post.lua prints its percentiles); the CPU
time of every server process comes from /proc/PID/stat before and after,
the peak RSS of each proxy from VmHWM (reset through clear_refs before each
run).  Streamed timings (first event, each further event) come from a
client in this file that timestamps every event; a paced stream shows
whether anything is held back; a 10,000-event stream shows whether a
proxy's memory stays flat.  Then bench/micro (library alone) and
`openssl speed -evp aes-256-gcm`.  Tables go to stdout and, as Markdown, to
--out; the raw numbers to --json.

Run from the build directory through `make bench`, or by hand:

  PS_BUILDDIR=_build PS_SRCDIR=. PYTHONPATH=tests/e2e /usr/bin/python3 bench/run.py
"""

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("PS_SRCDIR") or os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
import chain  # noqa: E402  (tests/e2e/chain.py)

BUILD = chain.BUILD
KIB = 1024
MIB = 1024 * 1024
CLK_TCK = os.sysconf("SC_CLK_TCK")
TARGETS = ("direct", "plain", "enc")
WORDS = ("The quick brown fox jumps over the lazy dog; "
         "pack my box with five dozen liquor jugs. ")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ------------------------------------------------------------ processes
def cpu_ticks(pid):
    """utime + stime of every thread of pid, in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])


def status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def reset_hwm(pid):
    """Reset VmHWM to the current RSS (Linux clear_refs, value 5)."""
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class Bench(chain.Chain):
    """chain.Chain without the tamper relay and without recording every
    body, plus the plain mod_proxy pair in front of the same inference
    server."""

    def __init__(self, threads, proxy_env=None):
        t = ["--threads", str(threads)]
        super().__init__(tamper=False, client_args=t, worker_args=t)
        self.proxy_env = proxy_env or {}

    def _start(self, name, argv, env=None, logname=None):
        if name in ("client", "worker") and self.proxy_env:
            env = dict(env or {}, **self.proxy_env)
        return super()._start(name, argv, env, logname)

    def start_inference(self):
        self.inference_sock = os.path.join(self.dir, "inference.sock")
        self._start("inference", [os.path.join(BUILD, "tests", "inference-server"),
                                  "--socket", self.inference_sock])
        chain.wait_for(lambda: chain.unix_open(self.inference_sock),
                       "the inference server")

    def start(self):
        super().start()
        try:
            for role in ("worker", "client"):
                conf = os.path.join(self.dir, "lighttpd-plain-%s.conf" % role)
                shutil.copy(os.path.join(HERE, "lighttpd-plain-%s.conf" % role), conf)
                self.own(conf)
            self.plain_worker_port = chain.free_port()
            self._start("web-plain-worker", [
                chain.LIGHTTPD, "-D", "-f",
                os.path.join(self.dir, "lighttpd-plain-worker.conf")],
                {"PS_PORT": str(self.plain_worker_port), "PS_DIR": self.dir,
                 "PS_INFERENCE_SOCK": self.inference_sock})
            chain.wait_for(lambda: chain.port_open(self.plain_worker_port),
                           "plain worker-side lighttpd")
            self.plain_port = chain.free_port()
            self._start("web-plain-client", [
                chain.LIGHTTPD, "-D", "-f",
                os.path.join(self.dir, "lighttpd-plain-client.conf")],
                {"PS_PORT": str(self.plain_port), "PS_DIR": self.dir,
                 "PS_UPSTREAM_PORT": str(self.plain_worker_port)})
            chain.wait_for(lambda: chain.port_open(self.plain_port),
                           "plain client-side lighttpd")
        except Exception:
            sys.stderr.write(self.all_logs())
            self.stop()
            raise
        return self

    def restart_proxies(self):
        """Fresh proxy processes, so a peak RSS belongs to one row only."""
        for n in ("client", "worker"):
            self.stop_proc(n)
        self.start_worker()
        self.start_client()

    def pid(self, name):
        """The pid of a server; for a proxy under spawn-fcgi -n, the
        proxy itself (spawn-fcgi execs it), which is checked."""
        pid = self.procs[name].pid
        if name in ("client", "worker"):
            exe = os.readlink("/proc/%d/exe" % pid)
            if not os.path.basename(exe).startswith("promptseal-" + name):
                raise RuntimeError("pid %d of %s is %s" % (pid, name, exe))
        return pid


# Which processes count for which target, by Chain process name.
PROCS = {
    "direct": ("inference",),
    "plain": ("web-plain-client", "web-plain-worker", "inference"),
    "enc": ("web-client", "client", "web-worker", "worker", "inference"),
}
ALL_PROCS = ("client", "worker", "web-client", "web-worker",
             "web-plain-client", "web-plain-worker", "inference")


# ------------------------------------------------------------ requests
def prompt(n):
    """n characters of text with a newline every 80, as prompts have."""
    line = (WORDS * (80 // len(WORDS) + 2))[:79] + "\n"
    return (line * (n // 80 + 1))[:n]


def body(size, stream, events, extra=None):
    b = {"model": "test-model",
         "messages": [{"role": "system", "content": "You are terse."},
                      {"role": "user", "content": prompt(size)}],
         "max_tokens": 64}
    if stream:
        b["stream"] = True
        b["x_events"] = events
    b.update(extra or {})
    return json.dumps(b).encode()


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=120):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class Client:
    """One keep-alive connection to a target that timestamps every line."""

    def __init__(self, b, target):
        self.b, self.target = b, target
        self.conn = None

    def _conn(self):
        if self.conn is None:
            if self.target == "direct":
                self.conn = UnixHTTPConnection(self.b.inference_sock)
            else:
                port = self.b.client_port if self.target == "enc" else self.b.plain_port
                self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            self.conn.connect()
        return self.conn

    def post(self, data, on_line=None):
        """POST data to /v1/chat/completions.  Returns (status, t0, list of
        (perf_counter, line bytes)); the clock starts as the request is
        sent on an open connection."""
        c = self._conn()
        t0 = time.perf_counter()
        c.request("POST", "/v1/chat/completions", body=data,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        lines, buf = [], b""
        while True:
            chunk = r.read1(262144)
            if not chunk:
                break
            now = time.perf_counter()
            buf += chunk
            k = buf.find(b"\n")
            while k >= 0:
                lines.append((now, buf[:k].rstrip(b"\r")))
                if on_line:
                    on_line(len(lines))
                buf = buf[k + 1:]
                k = buf.find(b"\n")
        if buf:
            lines.append((time.perf_counter(), buf))
        r.read()  # marks the response done so the connection can be reused
        if r.getheader("Connection", "").lower() == "close" or r.will_close:
            self.close()
        return r.status, t0, lines

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None


def data_events(lines):
    out = []
    for t, line in lines:
        if line.startswith(b"data:"):
            v = line[5:]
            out.append((t, v[1:] if v.startswith(b" ") else v))
    return out


def check_reply(status, lines, size, stream, events):
    """Raise unless the reply is the inference server's echo, complete."""
    want = "echo: " + prompt(size)
    if status != 200:
        raise RuntimeError("status %d" % status)
    if not stream:
        got = json.loads(b"\n".join(l for _, l in lines))
        text = got["choices"][0]["message"]["content"]
    else:
        ev = data_events(lines)
        if not ev or ev[-1][1] != b"[DONE]":
            raise RuntimeError("stream does not end in [DONE]")
        parts = []
        for _, v in ev[:-1]:
            d = json.loads(v)
            if "error" in d:
                raise RuntimeError("error event: %s" % d["error"].get("code"))
            parts.append(d["choices"][0]["delta"].get("content", ""))
        text = "".join(parts)
        if len(ev) != events + 2:
            raise RuntimeError("%d data events, want %d" % (len(ev), events + 2))
    if text != want:
        raise RuntimeError("reply is not the echo of the prompt")


# ------------------------------------------------------------ wrk
def run_wrk(b, target, data_file, conc, secs):
    port = {"enc": b.client_port, "plain": b.plain_port}.get(target)
    env = dict(os.environ)
    if target == "direct":
        port = b.direct_port
        env.update(LD_PRELOAD=b.shim, PS_UNIX_PORT=str(port),
                   PS_UNIX_PATH=b.inference_sock)
    threads = 1 if conc == 1 else 2
    cmd = ["wrk", "-t%d" % threads, "-c%d" % conc, "-d%ds" % secs, "--timeout", "30s",
           "-s", os.path.join(HERE, "post.lua"),
           "http://127.0.0.1:%d/v1/chat/completions" % port, "--", data_file]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=secs + 90)
    m = re.search(r"^WRKJSON (.*)$", p.stdout, re.M)
    if p.returncode != 0 or not m:
        raise RuntimeError("wrk failed: %s %s" % (p.stdout[-500:], p.stderr[-500:]))
    return json.loads(m.group(1))


def measure_row(b, target, data_file, conc, secs, restart=True):
    if target == "enc" and restart:
        b.restart_proxies()
    pids = {n: b.pid(n) for n in ALL_PROCS}
    for n in ("client", "worker"):
        reset_hwm(pids[n])
    before = {n: cpu_ticks(p) for n, p in pids.items()}
    w = run_wrk(b, target, data_file, conc, secs)
    after = {n: cpu_ticks(p) for n, p in pids.items()}
    n = max(w["requests"], 1)
    us = lambda k: (after[k] - before[k]) * 1e6 / CLK_TCK / n  # noqa: E731
    row = {
        "rps": w["requests"] / (w["duration_us"] / 1e6),
        "requests": w["requests"],
        "p50_ms": w["p50_us"] / 1000, "p99_ms": w["p99_us"] / 1000,
        "errors": sum(w[k] for k in w if k.startswith("errors_")),
        "cpu_us": {k: us(k) for k in PROCS[target]},
    }
    row["cpu_us"]["web"] = sum(us(k) for k in PROCS[target] if k.startswith("web-"))
    if target == "enc":
        row["hwm_kib"] = {k: status_kib(pids[k], "VmHWM") for k in ("client", "worker")}
    return row


# ------------------------------------------------------------ streams
def stream_timing(b, target, size, events, n):
    """n streamed requests one after another: median time to the first
    data event, median time per further event, and the longest gap
    between two events of any stream (ms)."""
    cl = Client(b, target)
    data = body(size, True, events)
    firsts, per, worst = [], [], []
    try:
        for i in range(n + 1):
            status, t0, lines = cl.post(data)
            if i == 0:
                check_reply(status, lines, size, True, events)
                continue  # warm-up
            ev = data_events(lines)
            firsts.append(ev[0][0] - t0)
            per.append((ev[-1][0] - ev[0][0]) / (len(ev) - 1))
            worst.append(max(ev[i][0] - ev[i - 1][0] for i in range(1, len(ev))))
    finally:
        cl.close()
    return {"first_ms": statistics.median(firsts) * 1e3,
            "per_event_us": statistics.median(per) * 1e6,
            "worst_gap_ms": max(worst) * 1e3,
            "stalls": sum(1 for w in worst if w > 0.05), "n": n}


def paced(b, target, size, events, delay_ms, n):
    """n streams whose events the server sends delay_ms apart, so that the
    chain is idle when each event arrives.  An event's lag is its arrival
    after the request was sent, less i * delay_ms for the i-th event.  The
    first event's lag is the time to first event, free of the load the
    rest of a back-to-back stream puts on the CPUs.  An event held back
    until a later one is ready would show a lag of a whole delay or more
    beyond the first event's (the server's oversleep, a few tens of
    microseconds per event, adds a little)."""
    cl = Client(b, target)
    data = body(size, True, events, {"x_delay_ms": delay_ms})
    gaps, first, extra = [], [], []
    try:
        for i in range(n + 1):
            status, t0, lines = cl.post(data)
            check_reply(status, lines, size, True, events)
            if i == 0:
                continue  # warm-up
            # Every data event is paced, [DONE] too (the end record the
            # worker puts in its place must not wait either).
            ev = data_events(lines)
            gaps += [(ev[i][0] - ev[i - 1][0]) * 1e3 for i in range(1, len(ev))]
            lag = [(t - t0) * 1e3 - i * delay_ms for i, (t, _) in enumerate(ev)]
            first.append(lag[0])
            extra.append(max(x - lag[0] for x in lag[1:]))
    finally:
        cl.close()
    return {"first_ms": statistics.median(first), "min_gap_ms": min(gaps),
            "max_gap_ms": max(gaps), "max_extra_lag_ms": max(extra),
            "delay_ms": delay_ms, "events": events, "n": n}


def long_stream_rss(b, events):
    """One stream of `events` events through the encrypted chain while
    the proxies' RSS is sampled every 5 ms."""
    b.restart_proxies()
    pids = {n: b.pid(n) for n in ("client", "worker")}
    samples = []
    seen = [0]
    stop = threading.Event()

    def sampler():
        while not stop.is_set():
            samples.append((seen[0],) + tuple(status_kib(pids[k], "VmRSS")
                                              for k in ("client", "worker")))
            time.sleep(0.005)

    th = threading.Thread(target=sampler)
    start = {k: status_kib(p, "VmRSS") for k, p in pids.items()}
    th.start()
    cl = Client(b, "enc")
    try:
        status, t0, lines = cl.post(body(KIB, True, events),
                                    on_line=lambda k: seen.__setitem__(0, k))
    finally:
        stop.set()
        th.join()
        cl.close()
    check_reply(status, lines, KIB, True, events)
    out = {"events": events, "seconds": lines[-1][0] - t0, "samples": len(samples)}
    for i, k in enumerate(("client", "worker")):
        after_first = [s[i + 1] for s in samples if s[0] >= 2 * events // 10]
        out[k] = {"before_kib": start[k], "anon_end_kib": status_kib(pids[k], "RssAnon"),
                  "at_20pct_kib": after_first[0] if after_first else None,
                  "max_kib": max(s[i + 1] for s in samples) if samples else None,
                  "end_kib": status_kib(pids[k], "VmRSS"),
                  "hwm_kib": status_kib(pids[k], "VmHWM")}
    return out


# ------------------------------------------------------------ library
def micro(secs):
    p = subprocess.run([os.path.join(BUILD, "bench", "micro"), "--seconds", str(secs),
                        "1K", "64K", "1M", "event"], capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise RuntimeError("bench/micro failed: " + p.stderr)
    rows = []
    for line in p.stdout.splitlines():
        if line.startswith("MICRO "):
            d = dict(kv.split("=", 1) for kv in line.split()[1:])
            rows.append({k: (v if k == "kind" else float(v)) for k, v in d.items()})
    return rows


def openssl_speed(nbytes):
    p = subprocess.run(["openssl", "speed", "-mr", "-evp", "aes-256-gcm", "-seconds", "1",
                        "-bytes", str(nbytes)], capture_output=True, text=True, timeout=60)
    m = re.search(r"^\+F:\d+:AES-256-GCM:([0-9.]+)", p.stdout, re.M)
    return float(m.group(1)) / 1e6 if m else None


# ------------------------------------------------------------ machine
def sh(*cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (p.stdout or p.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "?"


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024
    cflags = "?"
    try:
        with open(os.path.join(BUILD, "Makefile")) as f:
            for line in f:
                if line.startswith("CFLAGS = "):
                    cflags = line[9:].strip()
    except OSError:
        pass
    return {"cpu": model, "cpus": os.cpu_count(), "mem_mib": mem,
            "kernel": platform.release(), "cflags": cflags,
            "lighttpd": sh("lighttpd", "-v"), "openssl": sh("openssl", "version"),
            "wrk": sh("wrk", "-v"),
            "commit": sh("git", "-C", SRC, "describe", "--always", "--dirty"),
            "loadavg_start": open("/proc/loadavg").read().split()[:3]}


# ------------------------------------------------------------ report
def fmt_size(n):
    return "%d MiB" % (n // MIB) if n >= MIB else "%d KiB" % (n // KIB)


def fmt(v, spec="%.2f"):
    return "-" if v is None else spec % v


def report(res):
    out = []
    w = out.append
    m = res["machine"]
    w("## Machine\n")
    w("- CPU: %s, %d logical CPUs, %d MiB RAM, Linux %s" % (
        m["cpu"], m["cpus"], m["mem_mib"], m["kernel"]))
    w("- %s; %s; %s; CFLAGS %s; source %s" % (m["lighttpd"], m["openssl"], m["wrk"],
                                               m["cflags"], m["commit"]))
    w("- load average before: %s, after: %s" % (" ".join(m["loadavg_start"]),
                                                 " ".join(m["loadavg_end"])))
    w("- wrk %d s per row; proxies with --threads %d%s; started %s, took %.0f s\n" % (
        res["duration"], res["threads"],
        "".join(" and " + e for e in res["proxy_env"]), res["started"], res["took"]))

    w("## Throughput and latency (wrk)\n")
    w("CPU is per request, in microseconds: client and worker proxies, both "
      "web servers of the chain together, the inference server. RSS is the "
      "peak (VmHWM) of each proxy during the row. enc/plain compares req/s "
      "(p50 in brackets).\n")
    w("| prompt | stream | conc | chain | req/s | p50 ms | p99 ms | client CPU | "
      "worker CPU | web CPU | inference CPU | client RSS MiB | worker RSS MiB | "
      "enc/plain |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in res["rows"]:
        for t in TARGETS:
            x = r[t]
            c = x["cpu_us"]
            ratio = ""
            if t == "enc":
                ratio = "%.2f (%.2f)" % (x["rps"] / r["plain"]["rps"],
                                         x["p50_ms"] / max(r["plain"]["p50_ms"], 1e-3))
            hwm = x.get("hwm_kib", {})
            err = " (%d errors)" % x["errors"] if x["errors"] else ""
            w("| %s | %s | %d | %s | %.0f%s | %.3f | %.3f | %s | %s | %s | %.0f | %s | %s | %s |" % (
                fmt_size(r["size"]), "%d ev" % r["events"] if r["stream"] else "no",
                r["conc"], t, x["rps"], err, x["p50_ms"], x["p99_ms"],
                fmt(c.get("client"), "%.0f"), fmt(c.get("worker"), "%.0f"),
                fmt(c["web"] if t != "direct" else None, "%.0f"), c["inference"],
                fmt(hwm["client"] / 1024 if hwm else None, "%.1f"),
                fmt(hwm["worker"] / 1024 if hwm else None, "%.1f"), ratio))

    w("\n## Streamed events (timestamping client, one stream at a time)\n")
    w("Back-to-back streams (the server sends all events at once). Median over "
      "the requests of: time from sending the request to the first data event, "
      "and (last - first) / (events - 1), the time each further event costs "
      "when the chain is busy with the stream.\n")
    w("| prompt | events | requests | direct first ms | plain first ms | enc first ms | "
      "added first ms | direct per event us | plain per event us | enc per event us | "
      "added per event us | plain worst gap ms | enc worst gap ms | enc streams with a "
      "gap > 50 ms |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for s in res["streams"]:
        d, p, e = s["direct"], s["plain"], s["enc"]
        w("| %s | %d | %d | %.3f | %.3f | %.3f | %.3f | %.1f | %.1f | %.1f | %.1f | %.1f | "
          "%.1f | %d |" % (
              fmt_size(s["size"]), s["events"], e["n"], d["first_ms"], p["first_ms"],
              e["first_ms"], e["first_ms"] - p["first_ms"], d["per_event_us"],
              p["per_event_us"], e["per_event_us"], e["per_event_us"] - p["per_event_us"],
              p["worst_gap_ms"], e["worst_gap_ms"], e["stalls"]))
    w("\nPaced streams: %d events sent %d ms apart, so the chain is idle when each "
      "arrives. first = time from sending the request to the first event (median); "
      "gaps between events at the user's end; extra lag = the most any later event "
      "arrived behind its schedule (first event + i x %d ms), over all streams. All ms.\n"
      % (res["paced_events"], res["paced_delay"], res["paced_delay"]))
    w("| prompt | streams | direct first | plain first | enc first | added first | "
      "plain gaps | enc gaps | plain extra lag | enc extra lag |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    for s in res["paced"]:
        d, p, e = s["direct"], s["plain"], s["enc"]
        w("| %s | %d | %.3f | %.3f | %.3f | %.3f | %.2f..%.2f | %.2f..%.2f | %.2f | %.2f |" % (
            fmt_size(s["size"]), e["n"], d["first_ms"], p["first_ms"], e["first_ms"],
            e["first_ms"] - p["first_ms"], p["min_gap_ms"], p["max_gap_ms"],
            e["min_gap_ms"], e["max_gap_ms"], p["max_extra_lag_ms"], e["max_extra_lag_ms"]))
    ls = res["long_stream"]
    w("\nOne stream of %d events through the encrypted chain (%.1f s), RSS in KiB:\n" % (
        ls["events"], ls["seconds"]))
    w("| proxy | before | at 20 % of events | max during | at end | VmHWM | RssAnon at end |")
    w("|---|---|---|---|---|---|---|")
    for k in ("client", "worker"):
        x = ls[k]
        w("| %s | %s | %s | %s | %s | %s | %s |" % (
            k, x["before_kib"], x["at_20pct_kib"], x["max_kib"], x["end_kib"], x["hwm_kib"],
            x["anon_end_kib"]))

    w("\n## Library alone (bench/micro) beside raw AES-256-GCM\n")
    w("MB/s of plain body (10^6 bytes). both = one seal plus one open of the "
      "same body. aes (in process) is EVP AES-256-GCM encryption of a buffer "
      "of the body's length; openssl speed is `openssl speed -evp "
      "aes-256-gcm -bytes N`.\n")
    w("| body | bytes | seal MB/s | open MB/s | both MB/s | seal us | open us | "
      "aes (in process) MB/s | openssl speed MB/s | both / openssl speed |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    for r in res["micro"]:
        sp = res["speed"].get(str(int(r["size"]))) if r["kind"] == "request" else None
        w("| %s | %d | %.0f | %.0f | %.0f | %.1f | %.1f | %.0f | %s | %s |" % (
            ("request, " + fmt_size(int(r["size"]))) if r["kind"] == "request"
            else "one stream event", r["body"], r["seal_mbs"], r["open_mbs"],
            r["both_mbs"], r["seal_us"], r["open_us"], r["aes_mbs"], fmt(sp, "%.0f"),
            fmt(r["both_mbs"] / sp * 100 if sp else None, "%.1f %%")))

    w("\n## Targets\n")
    w("| target | measured | met |")
    w("|---|---|---|")
    for t in res["targets"]:
        w("| %s | %s | %s |" % (t["what"], t["measured"],
                               {True: "yes", False: "**no**", None: "n/a"}[t["met"]]))
    return "\n".join(out) + "\n"


def targets(res):
    out = []

    def row(size, stream, conc):
        for r in res["rows"]:
            if r["size"] == size and r["stream"] == stream and r["conc"] == conc:
                return r
        return None

    for size, goal in ((KIB, 0.85), (MIB, 0.50)):
        for conc in res["concs"]:
            r = row(size, False, conc)
            if r:
                q = r["enc"]["rps"] / r["plain"]["rps"]
                out.append({"what": "enc >= %d %% of plain req/s, %s, concurrency %d" % (
                    goal * 100, fmt_size(size), conc),
                    "measured": "%.0f %%" % (q * 100), "met": q >= goal})
    r = row(KIB, False, 1)
    if r:
        a = r["enc"]["p50_ms"] - r["plain"]["p50_ms"]
        out.append({"what": "p50 added at concurrency 1, 1 KiB: <= 0.3 ms",
                    "measured": "%.3f ms" % a, "met": a <= 0.3})
    for p in res["paced"]:
        a = p["enc"]["first_ms"] - p["plain"]["first_ms"]
        out.append({"what": "time to first event added, %s prompt (paced): <= 1 ms"
                    % fmt_size(p["size"]), "measured": "%.3f ms" % a, "met": a <= 1.0})
    worst = max(p["enc"]["max_extra_lag_ms"] for p in res["paced"])
    out.append({"what": "nothing held back, paced: no event later than half a pacing "
                "interval (%d ms) behind its schedule" % res["paced_delay"],
                "measured": "worst %.2f ms" % worst,
                "met": worst < res["paced_delay"] / 2})
    gap = max(s["enc"]["worst_gap_ms"] for s in res["streams"])
    pgap = max(s["plain"]["worst_gap_ms"] for s in res["streams"])
    out.append({"what": "nothing held back, back-to-back streams: no gap between two "
                "events over 50 ms",
                "measured": "worst gap %.1f ms (plain %.1f ms), %d of %d streams" % (
                    gap, pgap, sum(s["enc"]["stalls"] for s in res["streams"]),
                    sum(s["enc"]["n"] for s in res["streams"])),
                "met": gap <= 50})
    for r in res["rows"]:
        if r["stream"] and r["conc"] == 1:
            out.append({"what": "nothing held back, wrk streams, %s, concurrency 1: p99 "
                        "within 50 ms of plain" % fmt_size(r["size"]),
                        "measured": "p99 %.1f ms (plain %.1f ms)" % (
                            r["enc"]["p99_ms"], r["plain"]["p99_ms"]),
                        "met": r["enc"]["p99_ms"] - r["plain"]["p99_ms"] <= 50})
    for r in res["micro"]:
        sp = res["speed"].get(str(int(r["size"])))
        if r["kind"] == "request" and int(r["size"]) == MIB and sp:
            q = r["both_mbs"] / sp
            out.append({"what": "library seal + open of 1 MiB >= 25 % of openssl speed",
                        "measured": "%.0f of %.0f MB/s = %.1f %%" % (r["both_mbs"], sp, q * 100),
                        "met": q >= 0.25})
    peak = {k: max([r["enc"]["hwm_kib"][k] for r in res["rows"]] +
                   [res["long_stream"][k]["hwm_kib"]]) for k in ("client", "worker")}
    for k in ("client", "worker"):
        out.append({"what": "%s proxy peak RSS < 16 MiB, all rows" % k,
                    "measured": "%.1f MiB" % (peak[k] / 1024), "met": peak[k] < 16 * 1024})
        ls = res["long_stream"][k]
        grow = ls["end_kib"] - ls["at_20pct_kib"]
        out.append({"what": "%s proxy RSS flat across a %d-event stream" % (
            k, res["long_stream"]["events"]),
            "measured": "%+d KiB from 20 %% to the end, peak %.1f MiB" % (
                grow, ls["hwm_kib"] / 1024),
            "met": grow <= 256 and ls["hwm_kib"] < 16 * 1024})
    return out


# ------------------------------------------------------------ main
def parse_sizes(s):
    out = []
    for x in s.split(","):
        x = x.strip().upper()
        mult = MIB if x.endswith("M") else KIB if x.endswith("K") else 1
        out.append(int(x.rstrip("KM")) * mult)
    return out


def main():
    ap = argparse.ArgumentParser(description="promptseal benchmark")
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk row")
    ap.add_argument("--sizes", default="1K,64K,1M")
    ap.add_argument("--concurrency", default="1,16")
    ap.add_argument("--events", type=int, default=256, help="events per streamed reply")
    ap.add_argument("--threads", type=int, default=16, help="threads of each proxy")
    ap.add_argument("--long-events", type=int, default=10000)
    ap.add_argument("--micro-seconds", type=float, default=1.0)
    ap.add_argument("--out", default=os.path.join(BUILD, "bench-results.md"))
    ap.add_argument("--json", default=os.path.join(BUILD, "bench-results.json"))
    ap.add_argument("--proxy-env", action="append", default=[], metavar="NAME=VALUE",
                    help="extra environment of both proxies (e.g. GLIBC_TUNABLES=...)")
    ap.add_argument("--perf", metavar="SIZE,stream|plain,CONC",
                    help="only profile this row of the encrypted chain with perf record")
    a = ap.parse_args()
    sizes = parse_sizes(a.sizes)
    concs = [int(c) for c in a.concurrency.split(",")]

    with open(os.path.join(BUILD, "Makefile")) as f:
        if "-fsanitize" in f.read():
            log("warning: this build has sanitizers on; its numbers mean little")

    t_start = time.time()
    res = {"machine": machine(), "duration": a.duration, "threads": a.threads,
           "proxy_env": a.proxy_env,
           "concs": concs, "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
           "rows": [], "streams": []}
    b = Bench(a.threads, dict(e.split("=", 1) for e in a.proxy_env))
    b.start()
    try:
        b.shim = os.path.join(BUILD, "bench", "unix-connect.so")
        b.direct_port = chain.free_port()
        bodies = os.path.join(b.dir, "bodies")
        os.mkdir(bodies)
        files = {}
        for size in sizes:
            for stream in (False, True):
                data = body(size, stream, a.events)
                path = os.path.join(bodies, "%d-%d.json" % (size, stream))
                with open(path, "wb") as f:
                    f.write(data)
                files[size, stream] = path
                # Every target must answer correctly before it is timed.
                for t in TARGETS:
                    cl = Client(b, t)
                    check_reply(*cl.post(data)[::2], size, stream, a.events)
                    cl.close()
        log("chain up in %s; warming up" % b.dir)
        for t in TARGETS:
            run_wrk(b, t, files[sizes[0], False], 1, 1)

        if a.perf:
            return profile(b, a, files)

        log("%d-event stream for RSS" % a.long_events)
        res["long_stream"] = long_stream_rss(b, a.long_events)
        res["paced_events"], res["paced_delay"], res["paced"] = 8, 30, []
        for size in sizes:
            log("paced streams, %s" % fmt_size(size))
            n = 10 if size <= 64 * KIB else 6
            p = {"size": size}
            for t in TARGETS:
                p[t] = paced(b, t, size, res["paced_events"], res["paced_delay"], n)
            res["paced"].append(p)
        for size in sizes:
            n = 100 if size <= KIB else 40 if size <= 64 * KIB else 10
            log("stream timings, %s" % fmt_size(size))
            s = {"size": size, "events": a.events}
            for t in TARGETS:
                s[t] = stream_timing(b, t, size, a.events, n)
            res["streams"].append(s)

        for size in sizes:
            for stream in (False, True):
                for conc in concs:
                    r = {"size": size, "stream": stream, "conc": conc, "events": a.events}
                    for t in TARGETS:
                        log("wrk %s %s c%d %s" % (fmt_size(size),
                                                  "stream" if stream else "plain", conc, t))
                        r[t] = measure_row(b, t, files[size, stream], conc, a.duration)
                    res["rows"].append(r)
        for n in ("client", "worker"):
            res[n + "_log"] = b.log(n + ".log")[-2000:]
    finally:
        b.stop()

    log("library micro-benchmark")
    res["micro"] = micro(a.micro_seconds)
    res["speed"] = {str(n): openssl_speed(n) for n in (KIB, 64 * KIB, MIB)}
    res["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    res["took"] = time.time() - t_start
    res["targets"] = targets(res)
    text = report(res)
    print(text)
    with open(a.out, "w") as f:
        f.write(text)
    with open(a.json, "w") as f:
        json.dump(res, f, indent=1)
    log("written: %s, %s" % (a.out, a.json))
    return 0


def profile(b, a, files):
    """perf record both proxies (call graphs) during one wrk row of the
    encrypted chain; print the top of each report."""
    size, mode, conc = a.perf.split(",")
    size = parse_sizes(size)[0]
    stream = mode == "stream"
    if (size, stream) not in files:
        raise SystemExit("--perf: size not among --sizes")
    b.restart_proxies()
    recs = []
    for n in ("client", "worker"):
        data = os.path.join(BUILD, "perf-%s.data" % n)
        recs.append((n, data, subprocess.Popen(
            ["perf", "record", "-q", "-g", "-F", "999", "-o", data, "-p", str(b.pid(n))],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
    time.sleep(0.5)
    row = measure_row(b, "enc", files[size, stream], int(conc), a.duration, restart=False)
    for _, _, p in recs:
        p.send_signal(2)
        p.wait()
    print(json.dumps(row))
    for n, data, _ in recs:
        print("==== %s: perf report --no-children -i %s" % (n, data))
        r = subprocess.run(["perf", "report", "--stdio", "--no-children", "-g", "none",
                            "--percent-limit", "1", "-i", data],
                           capture_output=True, text=True)
        print("\n".join(l for l in r.stdout.splitlines() if l and not l.startswith("#"))[:6000])
    return 0


if __name__ == "__main__":
    sys.exit(main())

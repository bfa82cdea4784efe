#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""The promptseal benchmark (`make bench`): what the encryption costs, beside
two chains without it, in one run on one machine.

One stand-in inference server (bench/standin: a thread pool, keep-alive,
replies of a given size built once, the request body read and discarded)
serves three chains, so that its cost is the same in all of them:

  plain     wrk -> lighttpd (mod_proxy) -> lighttpd (mod_proxy) -> standin
  passthru  wrk -> lighttpd -> bench/passthru -> lighttpd -> bench/passthru
                -> standin       (the hops of enc, on lib/net, no crypto)
  enc       wrk -> lighttpd -> promptseal-client -> lighttpd
                -> promptseal-worker -> standin

Each row runs the chains interleaved (plain, passthru, enc, plain, ...)
for --rounds rounds; a figure is the median over the rounds with its
range, and each ratio is computed within a round, then summarised the same
way.  CPU per request of each process comes from /proc/PID/stat deltas,
peak RSS of each proxy from VmHWM (reset through clear_refs before each
row).  A timestamping client measures the time to the first streamed
event and counts stalled streams (a gap > --stall-ms between two events)
over back-to-back streams.  bench/micro measures the library alone beside
raw AES-256-GCM.  Every target of issue 13 is printed with PASS or MISS.

Run through `make bench` (BENCH_ARGS="--quick" for a smoke run of well
under a minute), or by hand from the build directory:

  PS_BUILDDIR=$PWD PS_SRCDIR=../.. /usr/bin/python3 ../../bench/run.py
"""

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("PS_SRCDIR") or os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
import chain  # noqa: E402  (tests/e2e/chain.py)

BUILD = chain.BUILD
KIB = 1024
MIB = 1024 * 1024
CLK_TCK = os.sysconf("SC_CLK_TCK")
CHAINS = ("plain", "passthru", "enc")
WORDS = ("The quick brown fox jumps over the lazy dog; "
         "pack my box with five dozen liquor jugs. ")
STREAM_EVENTS = 64
EVENT_BYTES = 32
PACED_EVENTS = 4      # time to first event: 4 events 5 ms apart
PACED_MS = 5

# The rows: name, prompt bytes, standin reply spec, concurrency.
ROWS = (
    ("1 KiB c1", KIB, "j1024", 1),
    ("1 KiB c16", KIB, "j1024", 16),
    ("1 MiB c1", MIB, "j1048576", 1),
    ("1 MiB c16", MIB, "j1048576", 16),
    ("64-event streams c16", KIB, "s%dx%d" % (STREAM_EVENTS, EVENT_BYTES), 16),
)
PROXIES = {"enc": ("client", "worker"), "passthru": ("pt-client", "pt-worker")}
WEB = {"plain": ("web-plain-client", "web-plain-worker"),
       "passthru": ("web-pt-client", "web-pt-worker"),
       "enc": ("web-client", "web-worker")}


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
    """chain.Chain without the tamper relay, in front of bench/standin,
    plus the plain mod_proxy pair and the passthru pair."""

    def __init__(self, threads, proxy_env=None):
        t = ["--threads", str(threads)]
        super().__init__(tamper=False, client_args=t, worker_args=t)
        self.threads = threads
        self.proxy_env = proxy_env or {}

    def _start(self, name, argv, env=None, logname=None):
        if name in ("client", "worker", "pt-client", "pt-worker") and self.proxy_env:
            env = dict(env or {}, **self.proxy_env)
        return super()._start(name, argv, env, logname)

    def start_inference(self):
        self.inference_sock = os.path.join(self.dir, "inference.sock")
        exe = os.path.join(self.dir, "bin", "standin")
        shutil.copy(os.path.join(BUILD, "bench", "standin"), exe)
        self._start("inference", [exe, "--socket", self.inference_sock,
                                  "--threads", "4"])
        chain.wait_for(lambda: chain.unix_open(self.inference_sock),
                       "the stand-in inference server")

    def _lighttpd(self, name, conf, env):
        port = chain.free_port()
        env = dict(env, PS_PORT=str(port))
        self._start(name, [chain.LIGHTTPD, "-D", "-f", conf], env)
        chain.wait_for(lambda: chain.port_open(port), name, proc=self.procs[name])
        return port

    def start(self):
        super().start()
        try:
            for role in ("worker", "client"):
                conf = os.path.join(self.dir, "lighttpd-plain-%s.conf" % role)
                shutil.copy(os.path.join(HERE, "lighttpd-plain-%s.conf" % role), conf)
                self.own(conf)
            env = {"PS_DIR": self.dir, "PS_INFERENCE_SOCK": self.inference_sock}
            wport = self._lighttpd("web-plain-worker", os.path.join(
                self.dir, "lighttpd-plain-worker.conf"), env)
            self.plain_port = self._lighttpd("web-plain-client", os.path.join(
                self.dir, "lighttpd-plain-client.conf"),
                dict(env, PS_UPSTREAM_PORT=str(wport)))
            self.start_passthru()
        except Exception:
            sys.stderr.write(self.all_logs())
            self.stop()
            raise
        return self

    def start_passthru(self):
        """The passthru pair behind the project's own lighttpd configs,
        in a directory of their own (logs, pid files)."""
        d = os.path.join(self.dir, "passthru")
        os.makedirs(d, exist_ok=True)
        self.own(d)
        exe = os.path.join(self.dir, "bin", "passthru")
        shutil.copy(os.path.join(BUILD, "bench", "passthru"), exe)
        t = ["--threads", str(self.threads)]
        wsock = os.path.join(d, "worker.sock")
        csock = os.path.join(d, "client.sock")
        self._spawn_plain("pt-worker", wsock,
                          [exe, "--upstream", "unix:" + self.inference_sock] + t)
        wport = self._lighttpd("web-pt-worker", os.path.join(
            self.lighttpd_conf, "worker.conf"), {"PS_DIR": d, "PS_WORKER_SOCK": wsock})
        self._spawn_plain("pt-client", csock,
                          [exe, "--upstream", "http://127.0.0.1:%d" % wport] + t)
        self.pt_port = self._lighttpd("web-pt-client", os.path.join(
            self.lighttpd_conf, "client.conf"), {"PS_DIR": d, "PS_CLIENT_SOCK": csock})

    def _spawn_plain(self, name, sock, argv):
        p = self._start(name, [chain.SPAWN_FCGI, "-n", "-s", sock, "-M", "0660", "--"]
                        + argv)
        chain.wait_for(lambda: chain.unix_open(sock), name, proc=p)

    def port(self, target):
        return {"enc": self.client_port, "plain": self.plain_port,
                "passthru": self.pt_port}[target]

    def pid(self, name):
        """The pid of a server; for a proxy under spawn-fcgi -n, the
        proxy itself (spawn-fcgi execs it), which is checked."""
        pid = self.procs[name].pid
        want = {"client": "promptseal-client", "worker": "promptseal-worker",
                "pt-client": "passthru", "pt-worker": "passthru"}.get(name)
        if want:
            exe = os.path.basename(os.readlink("/proc/%d/exe" % pid))
            if not exe.startswith(want):
                raise RuntimeError("pid %d of %s is %s" % (pid, name, exe))
        return pid


# ------------------------------------------------------------ requests
def prompt(n):
    """n characters of text with a newline every 80, as prompts have."""
    line = (WORDS * (80 // len(WORDS) + 2))[:79] + "\n"
    return (line * (n // 80 + 1))[:n]


def body(size, spec):
    b = {"model": "test-model",
         "messages": [{"role": "system", "content": "You are terse."},
                      {"role": "user", "content": prompt(size)}],
         "max_tokens": 64}
    if spec.startswith("s"):
        b["stream"] = True
    # Last, where the stand-in looks for it without parsing the prompt.
    b["x_standin"] = spec
    return json.dumps(b).encode()


def expected_content(spec):
    """The text the stand-in sends for spec (as bench/standin.c builds it)."""
    line = (WORDS * 3)[:79] + "\n"
    if spec.startswith("j"):
        n = int(spec[1:])
        return (line * (n // 80 + 1))[:n]
    k, b = (int(x) for x in re.match(r"s(\d+)x(\d+)", spec).groups())
    return (line * (k * b // 80 + 1))[:k * b]


class Client:
    """One keep-alive connection to a chain that timestamps every read."""

    def __init__(self, b, target):
        self.port = b.port(target)
        self.conn = None

    def post(self, data):
        """POST data; returns (status, t0, [(time, data bytes of an event)])."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            self.conn.connect()
        t0 = time.perf_counter()
        self.conn.request("POST", "/v1/chat/completions", body=data,
                          headers={"Content-Type": "application/json"})
        r = self.conn.getresponse()
        events, buf = [], b""
        while True:
            chunk = r.read1(262144)
            if not chunk:
                break
            now = time.perf_counter()
            buf += chunk
            while True:
                k = buf.find(b"\n\n")
                if k < 0:
                    break
                ev, buf = buf[:k], buf[k + 2:]
                for line in ev.split(b"\n"):
                    if line.startswith(b"data:"):
                        events.append((now, line[5:].strip()))
        rest = buf
        r.read()
        if r.will_close:
            self.close()
        return r.status, t0, events, rest

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None


def check_reply(b, target, size, spec):
    """Raise unless a chain answers spec with the stand-in's reply."""
    cl = Client(b, target)
    try:
        status, _, events, rest = cl.post(body(size, spec))
    finally:
        cl.close()
    if status != 200:
        raise RuntimeError("%s: status %d" % (target, status))
    want = expected_content(spec)
    if spec.startswith("j"):
        got = json.loads(rest)["choices"][0]["message"]["content"]
    else:
        if not events or events[-1][1] != b"[DONE]":
            raise RuntimeError("%s: stream does not end in [DONE]" % target)
        got = "".join(json.loads(v)["choices"][0]["delta"].get("content", "")
                      for _, v in events[:-1])
    if got != want:
        raise RuntimeError("%s: reply is not the stand-in's" % target)


# ------------------------------------------------------------ wrk
def run_wrk(b, target, data_file, conc, secs):
    threads = 1 if conc == 1 else 2
    cmd = ["wrk", "-t%d" % threads, "-c%d" % conc, "-d%ds" % secs, "--timeout", "30s",
           "-s", os.path.join(HERE, "post.lua"),
           "http://127.0.0.1:%d/v1/chat/completions" % b.port(target), "--", data_file]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 90)
    m = re.search(r"^WRKJSON (.*)$", p.stdout, re.M)
    if p.returncode != 0 or not m:
        raise RuntimeError("wrk failed: %s %s" % (p.stdout[-500:], p.stderr[-500:]))
    return json.loads(m.group(1))


def measure(b, target, data_file, conc, secs):
    names = PROXIES.get(target, ()) + WEB[target] + ("inference",)
    pids = {n: b.pid(n) for n in names}
    for n in PROXIES.get(target, ()):
        reset_hwm(pids[n])
    before = {n: cpu_ticks(p) for n, p in pids.items()}
    w = run_wrk(b, target, data_file, conc, secs)
    after = {n: cpu_ticks(p) for n, p in pids.items()}
    n = max(w["requests"], 1)
    cpu = {k: (after[k] - before[k]) * 1e6 / CLK_TCK / n for k in names}
    row = {"rps": w["requests"] / (w["duration_us"] / 1e6), "requests": w["requests"],
           "p50_ms": w["p50_us"] / 1000, "p99_ms": w["p99_us"] / 1000,
           "errors": sum(w[k] for k in w if k.startswith("errors_")),
           "cpu_us": {"web": sum(cpu[k] for k in WEB[target]),
                      "inference": cpu["inference"]}}
    for i, k in enumerate(PROXIES.get(target, ())):
        row["cpu_us"][("client", "worker")[i]] = cpu[k]
    if target in PROXIES:
        row["hwm_kib"] = {("client", "worker")[i]: status_kib(pids[k], "VmHWM")
                          for i, k in enumerate(PROXIES[target])}
    return row


# ------------------------------------------------------------ streams
def streams(b, target, n, stall_ms, events=STREAM_EVENTS, size=EVENT_BYTES, delay_ms=0):
    """n back-to-back streams of `events` events, one at a time: time to
    the first event of each, the longest gap between two events of each."""
    cl = Client(b, target)
    data = body(KIB, "s%dx%d" % (events, size) + ("d%d" % delay_ms if delay_ms else ""))
    first, worst = [], []
    try:
        cl.post(data)   # warm-up: the connection and the proxies' threads
        for _ in range(n):
            status, t0, ev, _ = cl.post(data)
            if status != 200 or len(ev) != events + 2:
                raise RuntimeError("%s: stream of %d events, status %d" %
                                   (target, len(ev), status))
            first.append((ev[0][0] - t0) * 1e3)
            worst.append(max(ev[i][0] - ev[i - 1][0] for i in range(1, len(ev))) * 1e3)
    finally:
        cl.close()
    return {"first_ms": statistics.median(first), "worst_gap_ms": max(worst),
            "stalls": sum(1 for w in worst if w > stall_ms), "n": n}


def tcp_stat(name):
    """A counter of /proc/net/netstat (TcpExt), or None."""
    try:
        with open("/proc/net/netstat") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for h, v in zip(lines[::2], lines[1::2]):
        if h.startswith("TcpExt:"):
            d = dict(zip(h.split()[1:], v.split()[1:]))
            return int(d[name]) if name in d else None
    return None


# ------------------------------------------------------------ library
MICRO_FIGURES = ("seal_mbs", "open_mbs", "both_mbs", "seal_us", "open_us", "aes_mbs")


def micro(secs, rounds):
    """bench/micro's rows, each figure summarised over the rounds, with the
    ratio of seal + open to raw AES-256-GCM taken within each round."""
    p = subprocess.run([os.path.join(BUILD, "bench", "micro"), "--seconds", str(secs),
                        "--rounds", str(rounds), "1K", "1M", "event"],
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError("bench/micro failed: " + p.stderr)
    per = {}
    for line in p.stdout.splitlines():
        if line.startswith("MICRO "):
            d = dict(kv.split("=", 1) for kv in line.split()[1:])
            r = {k: (v if k == "kind" else float(v)) for k, v in d.items()}
            per.setdefault((r["kind"], int(r["size"])), []).append(r)
    rows = []
    for (kind, size), rs in per.items():
        row = {"kind": kind, "size": size, "body": int(rs[0]["body"]), "raw": rs}
        for k in MICRO_FIGURES:
            row[k] = summary([r[k] for r in rs])
        row["both_over_aes"] = summary([r["both_mbs"] / r["aes_mbs"] for r in rs
                                        if r["aes_mbs"] > 0])
        rows.append(row)
    return rows


def openssl_speed(nbytes):
    p = subprocess.run(["openssl", "speed", "-mr", "-evp", "aes-256-gcm", "-seconds", "1",
                        "-bytes", str(nbytes)], capture_output=True, text=True, timeout=60)
    m = re.search(r"^\+F:\d+:AES-256-GCM:([0-9.]+)", p.stdout, re.M)
    return float(m.group(1)) / 1e6 if m else None


# ------------------------------------------------------------ report
def summary(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def fs(s, spec="%.2f"):
    """A summary as 'median (min-max)'."""
    if s is None:
        return "-"
    if s["n"] == 1 or s["min"] == s["max"]:
        return spec % s["median"]
    return (spec + " (" + spec + "-" + spec + ")") % (s["median"], s["min"], s["max"])


def machine():
    def sh(*cmd):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (p.stdout or p.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "?"
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M).group(1)
    except (OSError, AttributeError):
        pass
    return {"cpu": cpu, "cpus": os.cpu_count(), "kernel": platform.release(),
            "lighttpd": sh(chain.LIGHTTPD, "-v"), "openssl": sh("openssl", "version"),
            "wrk": sh("wrk", "-v"), "load_before": os.getloadavg()[0],
            "source": sh("git", "-C", SRC, "describe", "--always", "--dirty")}


def evaluate(res):
    rows = {r["name"]: r for r in res["rows"]}

    def ratio(name):
        r = rows.get(name)
        return r["enc_plain"]["median"] if r and r["enc_plain"] else None

    def cpu(name, proxy):
        r = rows.get(name)
        s = r and r["cpu_us"]["enc"].get(proxy)
        return s["median"] if s else None

    t = []

    def add(what, value, ok, shown):
        t.append({"target": what, "value": value, "shown": shown,
                  "pass": None if value is None else bool(ok(value))})

    for name, goal in (("1 KiB c16", 0.50), ("1 MiB c16", 0.40),
                       ("64-event streams c16", 0.50)):
        v = ratio(name)
        add("enc/plain req/s >= %.2f, %s" % (goal, name), v,
            lambda x, g=goal: x >= g, "-" if v is None else "%.2f" % v)
    st = res.get("streams")
    if st:
        v = st["added_first_ms"]["median"]
        add("time to first streamed event added <= 0.5 ms", v, lambda x: x <= 0.5,
            "%.3f ms" % v)
        v = st["stalls"]["enc"]
        add("zero stalled streams (gap > %g ms) of %d" % (st["stall_ms"], st["n"]), v,
            lambda x: x == 0, "%d" % v)
    for proxy in ("client", "worker"):
        v = cpu("1 KiB c16", proxy)
        add("%s CPU per 1 KiB request (c16) <= 25 us" % proxy, v, lambda x: x <= 25,
            "-" if v is None else "%.1f us" % v)
    m = res.get("micro")
    if m and m["both_over_aes"]:
        s = m["both_over_aes"]
        add("library seal + open of 1 MiB >= 40 % of raw AES-256-GCM", s["median"],
            lambda x: x >= 0.40, "%s %%" % fs({k: (100 * v if k != "n" else v)
                                              for k, v in s.items()}, "%.1f"))
    return t


def report(res):
    out = []
    p = out.append
    mc = res["machine"]
    p("# promptseal benchmark results\n")
    p("%s, %d CPUs, Linux %s; %s; %s; %s; source %s; load average %.2f at the start; "
      "%d rounds of %d s per chain and row; %d proxy threads.\n" %
      (mc["cpu"], mc["cpus"], mc["kernel"], mc["lighttpd"], mc["openssl"], mc["wrk"],
       mc["source"], mc["load_before"], res["args"]["rounds"], res["args"]["duration"],
       res["args"]["threads"]))
    p("Each figure: median over the rounds (min-max).  Ratios are taken per round.\n")
    p("## Throughput (wrk)\n")
    p("| row | plain req/s | passthru req/s | enc req/s | passthru/plain | enc/passthru "
      "| enc/plain | enc p50 ms | plain p50 ms | errors |")
    p("|---|---|---|---|---|---|---|---|---|---|")
    for r in res["rows"]:
        p("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %d |" % (
            r["name"], fs(r["rps"]["plain"], "%.0f"), fs(r["rps"]["passthru"], "%.0f"),
            fs(r["rps"]["enc"], "%.0f"), fs(r["passthru_plain"]), fs(r["enc_passthru"]),
            fs(r["enc_plain"]), fs(r["p50"]["enc"], "%.3f"), fs(r["p50"]["plain"], "%.3f"),
            r["errors"]))
    p("\n## CPU per request (us) and peak RSS (MiB)\n")
    p("From /proc/PID/stat (10 ms ticks) over each wrk run, divided by its requests.  "
      "web: both lighttpd of the chain together.\n")
    p("| row | enc client | enc worker | passthru client | passthru worker | enc web "
      "| passthru web | plain web | standin | enc client RSS | enc worker RSS "
      "| passthru client RSS | passthru worker RSS |")
    p("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in res["rows"]:
        c = r["cpu_us"]
        h = r["hwm_mib"]
        p("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["name"], fs(c["enc"]["client"], "%.0f"), fs(c["enc"]["worker"], "%.0f"),
            fs(c["passthru"]["client"], "%.0f"), fs(c["passthru"]["worker"], "%.0f"),
            fs(c["enc"]["web"], "%.0f"), fs(c["passthru"]["web"], "%.0f"),
            fs(c["plain"]["web"], "%.0f"), fs(c["enc"]["inference"], "%.0f"),
            fs(h["enc"]["client"], "%.1f"), fs(h["enc"]["worker"], "%.1f"),
            fs(h["passthru"]["client"], "%.1f"), fs(h["passthru"]["worker"], "%.1f")))
    st = res.get("streams")
    if st:
        p("\n## Streams: time to first event, stalls (%d-event streams)\n" % STREAM_EVENTS)
        p("%d streams per chain in %d interleaved blocks, timed alone for the first "
          "event (streams of %d events %d ms apart, up to 50 per block: request sent "
          "to first data event, median per block; all these blocks before any of the "
          "loaded ones) and with 15 "
          "more streams kept running by wrk (stalls: streams with a gap over %g ms "
          "between two events).  Zero-window probes sent on this machine meanwhile "
          "(TcpExt TCPWinProbe, all sockets): %s.\n" % (
              st["n"], st["blocks"], PACED_EVENTS, PACED_MS, st["stall_ms"],
              "-" if st["tcp_win_probes"] is None else st["tcp_win_probes"]))
        p("| chain | first event ms (alone) | worst gap ms (loaded) | stalled streams (loaded) |")
        p("|---|---|---|---|")
        for t in CHAINS:
            p("| %s | %s | %.1f | %d of %d |" % (t, fs(st["first_ms"][t], "%.3f"),
                                              st["worst_gap_ms"][t], st["stalls"][t],
                                              st["n"]))
        p("\nAdded by enc over plain, per block: %s ms; over passthru: %s ms.\n" % (
            fs(st["added_first_ms"], "%.3f"), fs(st["added_first_pt_ms"], "%.3f")))
    m = res.get("micro")
    if m:
        p("\n## Library alone (bench/micro) beside raw AES-256-GCM\n")
        p("%d rounds; in each, every row for %g s: seal, open and raw AES-256-GCM "
          "(EVP, in the same process, the key schedule set once) of the same bytes "
          "in turn, in slices of about 64 KiB each.  both/AES: the rate of seal + "
          "open over that of AES-256-GCM encryption alone, per round.  openssl "
          "speed: one run of `openssl speed -evp aes-256-gcm` after them, for "
          "scale.\n" % (m["rounds"], m["seconds"]))
        p("| body | seal MB/s | open MB/s | both MB/s | seal us | open us "
          "| AES-GCM in process MB/s | both/AES % | openssl speed MB/s |")
        p("|---|---|---|---|---|---|---|---|---|")
        for r in m["rows"]:
            pct = {k: (100 * v if k != "n" else v) for k, v in r["both_over_aes"].items()}
            p("| %s %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                r["kind"], r["size"], fs(r["seal_mbs"], "%.0f"), fs(r["open_mbs"], "%.0f"),
                fs(r["both_mbs"], "%.0f"), fs(r["seal_us"], "%.1f"),
                fs(r["open_us"], "%.1f"), fs(r["aes_mbs"], "%.0f"), fs(pct, "%.1f"),
                "%.0f" % r["speed_mbs"] if r.get("speed_mbs") else "-"))
        if m.get("both_over_speed"):
            p("\nseal + open of 1 MiB (median) / openssl speed at the same size: "
              "%.1f %%.\n" % (100 * m["both_over_speed"]))
    p("\n## Targets (issue 13)\n")
    p("| target | measured | |")
    p("|---|---|---|")
    for t in res["targets"]:
        p("| %s | %s | %s |" % (t["target"], t["shown"],
                                "-" if t["pass"] is None else
                                "PASS" if t["pass"] else "**MISS**"))
    return "\n".join(out) + "\n"


# ------------------------------------------------------------ main
def main():
    ap = argparse.ArgumentParser(description="promptseal benchmark")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds per row")
    ap.add_argument("--duration", type=int, default=4, help="seconds per wrk run")
    ap.add_argument("--streams", type=int, default=300,
                    help="back-to-back streams per chain for first event and stalls")
    ap.add_argument("--stall-ms", type=float, default=100.0)
    ap.add_argument("--threads", type=int, default=16, help="threads of each proxy")
    ap.add_argument("--micro-seconds", type=float, default=0.5,
                    help="seconds of each row of bench/micro, per round")
    ap.add_argument("--micro-rounds", type=int, default=9,
                    help="rounds of bench/micro")
    ap.add_argument("--rows", default=None,
                    help="comma-separated row numbers (1-%d) to run" % len(ROWS))
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 1 round of 1 s, 20 streams, short micro")
    ap.add_argument("--out", default=os.path.join(BUILD, "bench-results.md"))
    ap.add_argument("--json", default=os.path.join(BUILD, "bench-results.json"))
    ap.add_argument("--proxy-env", action="append", default=[], metavar="NAME=VALUE",
                    help="environment for the four proxies (e.g. GLIBC_TUNABLES=...)")
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.duration, a.streams, a.micro_seconds, a.micro_rounds = \
            1, 1, 20, 0.2, 1
    rows = ROWS
    if a.rows:
        rows = [ROWS[int(i) - 1] for i in a.rows.split(",")]
    for prog in ("wrk",):
        if not shutil.which(prog):
            sys.exit("bench: %s is not installed (scripts/deps)" % prog)
    try:
        with open(os.path.join(BUILD, "config.log"), errors="replace") as f:
            if "--enable-sanitizers" in f.read(4000):
                log("bench: WARNING: a sanitizer build; its figures mean little")
    except OSError:
        pass
    t_start = time.time()
    env = dict(kv.split("=", 1) for kv in a.proxy_env)
    res = {"args": vars(a), "machine": machine(), "rows": []}
    b = Bench(a.threads, env).start()
    tmp = os.path.join(b.dir, "bodies")
    os.makedirs(tmp, exist_ok=True)
    try:
        for name, size, spec, conc in rows:
            for t in CHAINS:
                check_reply(b, t, size, spec)
            f = os.path.join(tmp, "%s.json" % spec)
            with open(f, "wb") as fh:
                fh.write(body(size, spec))
            per = {t: [] for t in CHAINS}
            for rnd in range(a.rounds):
                for t in CHAINS:
                    log("bench: %s, round %d/%d, %s" % (name, rnd + 1, a.rounds, t))
                    per[t].append(measure(b, t, f, conc, a.duration))
            rr = lambda x, y: [p["rps"] / q["rps"] if q["rps"] else None  # noqa: E731
                               for p, q in zip(per[x], per[y])]
            row = {"name": name, "size": size, "spec": spec, "conc": conc,
                   "rps": {t: summary([x["rps"] for x in per[t]]) for t in CHAINS},
                   "p50": {t: summary([x["p50_ms"] for x in per[t]]) for t in CHAINS},
                   "p99": {t: summary([x["p99_ms"] for x in per[t]]) for t in CHAINS},
                   "enc_plain": summary(rr("enc", "plain")),
                   "passthru_plain": summary(rr("passthru", "plain")),
                   "enc_passthru": summary(rr("enc", "passthru")),
                   "errors": sum(x["errors"] for t in CHAINS for x in per[t]),
                   "cpu_us": {t: {k: summary([x["cpu_us"].get(k) for x in per[t]])
                                  for k in ("client", "worker", "web", "inference")}
                              for t in CHAINS},
                   "hwm_mib": {t: {k: summary([x["hwm_kib"][k] / 1024 for x in per[t]
                                               if "hwm_kib" in x])
                                   for k in ("client", "worker")} for t in CHAINS},
                   "raw": per}
            res["rows"].append(row)
        if a.streams > 0:
            blocks = max(1, min(a.rounds, a.streams // 10))
            k = a.streams // blocks
            firsts = {t: [] for t in CHAINS}
            worst = {t: 0.0 for t in CHAINS}
            stalls = {t: 0 for t in CHAINS}
            f = os.path.join(tmp, "stall.json")
            with open(f, "wb") as fh:
                fh.write(body(KIB, "s%dx%d" % (STREAM_EVENTS, EVENT_BYTES)))
            # First event: one stream at a time on an idle machine, its
            # events 5 ms apart, so that the first arrives alone (back to
            # back, the first read would carry all 64 and the first event
            # would wait for their seals).  All blocks before any load:
            # right after a loaded block the chain that carried it is
            # still busy with the streams wrk left behind (the same holds
            # after the last row: hence the pause).
            time.sleep(1)
            for i in range(blocks):
                for t in CHAINS:
                    log("bench: first event, block %d/%d, %s" % (i + 1, blocks, t))
                    firsts[t].append(streams(b, t, min(k, 50), a.stall_ms,
                                             PACED_EVENTS, EVENT_BYTES,
                                             PACED_MS)["first_ms"])
            probes0 = tcp_stat("TCPWinProbe")
            for i in range(blocks):
                for t in CHAINS:
                    # Stalls: the same streams while wrk keeps 15 more
                    # running through the chain, so that a proxy falls
                    # behind its next hop now and then, as under load.
                    log("bench: stalls, block %d/%d, %s" % (i + 1, blocks, t))
                    w = subprocess.Popen(
                        ["wrk", "-t1", "-c15", "-d600s", "--timeout", "30s", "-s",
                         os.path.join(HERE, "post.lua"),
                         "http://127.0.0.1:%d/v1/chat/completions" % b.port(t), "--", f],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    try:
                        time.sleep(0.2)
                        s = streams(b, t, k, a.stall_ms)
                    finally:
                        w.terminate()
                        w.wait()
                    worst[t] = max(worst[t], s["worst_gap_ms"])
                    stalls[t] += s["stalls"]
            probes = tcp_stat("TCPWinProbe")
            res["streams"] = {
                "n": k * blocks, "blocks": blocks, "stall_ms": a.stall_ms,
                "first_ms": {t: summary(firsts[t]) for t in CHAINS},
                "worst_gap_ms": worst, "stalls": stalls,
                "tcp_win_probes": None if probes is None or probes0 is None
                else probes - probes0,
                "added_first_ms": summary([e - p for e, p in zip(firsts["enc"],
                                                                 firsts["plain"])]),
                "added_first_pt_ms": summary([e - p for e, p in
                                              zip(firsts["enc"], firsts["passthru"])])}
    finally:
        b.stop()
    log("bench: bench/micro and openssl speed")
    mrows = micro(a.micro_seconds, a.micro_rounds)
    for r in mrows:
        if r["kind"] == "request":
            r["speed_mbs"] = openssl_speed(int(r["body"]))
    big = [r for r in mrows if r["kind"] == "request" and r["size"] == MIB]
    res["micro"] = {"rows": mrows, "rounds": a.micro_rounds, "seconds": a.micro_seconds,
                    "both_over_aes": big[0]["both_over_aes"] if big else None,
                    "both_over_speed": big[0]["both_mbs"]["median"] / big[0]["speed_mbs"]
                    if big and big[0].get("speed_mbs") else None}
    res["targets"] = evaluate(res)
    res["seconds"] = time.time() - t_start
    text = report(res) + "\nWall time of the run: %.0f s.\n" % res["seconds"]
    print(text)
    with open(a.out, "w") as f:
        f.write(text)
    with open(a.json, "w") as f:
        json.dump(res, f, indent=1)
    log("bench: wrote %s and %s" % (a.out, a.json))


if __name__ == "__main__":
    main()

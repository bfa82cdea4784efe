# SPDX-License-Identifier: ISC
"""The soak: the whole chain with keys from the AS, under continuous load
with key rotation, for minutes.  Run by scripts/soak (not by make check).

    soak.py [--seconds S] [--concurrency N] [--key-ttl T] [--sample S]

Each of N users sends, in a loop, a chat request or a streamed one and
checks the reply word for word.  The client's key lives T seconds, so a
new key takes over about every 2T/3 seconds.  Every few seconds the RSS of
each proxy process is sampled.  At the end it prints a table and exits 1
when a request failed, a proxy's RSS grew, or any log holds a sanitizer
report."""

import argparse
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import chain as ch  # noqa: E402
import pswire  # noqa: E402

CHAT = "/v1/chat/completions"


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def body(text, stream):
    b = {"model": "test-model", "messages": [{"role": "user", "content": text}]}
    if stream:
        b.update(stream=True, x_events=8)
    return b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=180)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--key-ttl", type=int, default=9)
    ap.add_argument("--sample", type=float, default=5.0)
    a = ap.parse_args()

    # No tamper relay: the test relay (Python) is not built for this
    # load, and the chain's own parts are what the soak is about.
    c = ch.Chain(as_web="lighttpd", key_ttl=a.key_ttl, tamper=False,
                 client_args=["--threads", "16"], worker_args=["--threads", "16"],
                 keysync_args=["--interval", "1"])
    c.start()
    user = c.user_http
    stop = threading.Event()
    lock = threading.Lock()
    stats = {"ok": 0, "stream_ok": 0, "failed": 0}
    failures = []
    samples = []               # (t, worker KiB, client KiB)
    kids = set()

    def load(i):
        n = 0
        while not stop.is_set():
            stream = n % 3 == 2
            text = "soak %d %d" % (i, n)
            n += 1
            try:
                if stream:
                    st, lines = user.stream(CHAT, body(text, True), timeout=60)
                    ev = ch.data_events(lines)
                    got = "".join(json.loads(e)["choices"][0]["delta"].get("content") or ""
                                  for e in ev[:-1] if json.loads(e).get("choices"))
                    good = st == 200 and ev[-1] == "[DONE]" and got == "echo: " + text
                    what = (st, ev[-1:])
                else:
                    st, _, b = user.json("POST", CHAT, body(text, False), timeout=60)
                    good = st == 200 and b["choices"][0]["message"]["content"] == "echo: " + text
                    what = (st, b.get("error") if isinstance(b, dict) else b)
            except Exception as e:          # noqa: BLE001 -- every failure counts
                good, what = False, repr(e)
            with lock:
                if good:
                    stats["stream_ok" if stream else "ok"] += 1
                else:
                    stats["failed"] += 1
                    failures.append((time.time(), what))

    def sampler():
        while not stop.wait(a.sample):
            w = rss_kib(c.procs["worker"].pid)
            cl = rss_kib(c.procs["client"].pid)
            samples.append((time.monotonic(), w, cl))
            try:
                for kid, _, _ in pswire.read_keyfile(c.key_state):
                    kids.add(kid)
            except (OSError, ValueError):
                pass

    t0 = time.monotonic()
    threads = [threading.Thread(target=load, args=(i,)) for i in range(a.concurrency)]
    threads.append(threading.Thread(target=sampler))
    for th in threads:
        th.start()
    try:
        time.sleep(a.seconds)
    finally:
        stop.set()
        for th in threads:
            th.join(120)
        elapsed = time.monotonic() - t0
        c.stop(keep=True)

    def col(k):
        v = [s[k] for s in samples if s[k] is not None]
        return v
    rows = []
    grew = False
    for name, k in (("worker", 1), ("client", 2)):
        v = col(k)
        if not v:
            rows.append((name, "-", "-", "-", "-"))
            continue
        # Flat: the last quarter's mean within 10% (and 4 MiB) of the
        # second quarter's, after the warm-up.
        q = max(1, len(v) // 4)
        early = sum(v[q:2 * q]) / len(v[q:2 * q]) if len(v) >= 2 * q + 1 else v[0]
        late = sum(v[-q:]) / q
        if late > early * 1.10 + 4096:
            grew = True
        rows.append((name, v[0], min(v), max(v), v[-1], "%.0f" % early, "%.0f" % late))
    total = stats["ok"] + stats["stream_ok"] + stats["failed"]
    print("soak: %.0f s, concurrency %d, key ttl %d s" % (elapsed, a.concurrency, a.key_ttl))
    print("requests      %8d  (%d chat, %d streamed)" % (total, stats["ok"], stats["stream_ok"]))
    print("failed        %8d" % stats["failed"])
    print("per second    %8.1f" % (total / elapsed))
    print("client keys   %8d  (kids seen in the key state)" % len(kids))
    print("sanitizer     %8d  report lines in the logs" % len(c.sanitizer_reports))
    print("RSS KiB       %8s %8s %8s %8s %8s %8s" % ("first", "min", "max", "last",
                                                   "q2 mean", "q4 mean"))
    for r in rows:
        print("  %-10s  " % r[0] + " ".join("%8s" % x for x in r[1:]))
    for t, what in failures[:10]:
        print("failure: %s" % (what,))
    for line in c.sanitizer_reports[:20]:
        print("sanitizer: " + line)
    print("logs in " + c.dir)
    return 1 if stats["failed"] or c.sanitizer_reports or grew or total == 0 else 0


if __name__ == "__main__":
    sys.exit(main())

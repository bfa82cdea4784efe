#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""What wire format v2 costs next to v1, in the library alone.

Builds bench/micro of the last v1 commit (the first parent of the merge of
wire format v2) in BUILD/bench-v1 with bench/v1-micro-iterations.patch
(the --iterations option, which v2's micro has), runs each micro for 1
and for 11 iterations under valgrind's callgrind, and takes the
difference over 10: the instructions of one seal plus one open, warm,
with every one-time set-up cancelled out.  Instruction counts, unlike
seconds, come out the same on every run and whatever else the machine
is doing; they do not weigh cache misses or memory bandwidth, so they
are the cost of the work, not its speed.

    bench/v1v2.py [--v1 COMMIT] [SIZE|event ...]   (default 1K 64K 1M event)
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

BUILD = os.environ.get("PS_BUILDDIR", os.getcwd())
SRC = os.environ.get("PS_SRCDIR", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def sh(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout


def v1_commit():
    merge = sh(["git", "-C", SRC, "log", "--format=%H", "-1",
                "--grep=^Merge wire format v2"]).strip()
    if not merge:
        sys.exit("v1v2: no merge of wire format v2 in this history; give --v1")
    return merge + "^1"


def build_v1(commit):
    top = os.path.join(BUILD, "bench-v1")
    src, bld = os.path.join(top, "src"), os.path.join(top, "build")
    micro = os.path.join(bld, "bench", "micro")
    if os.path.exists(micro):
        return micro
    os.makedirs(top, exist_ok=True)
    if not os.path.exists(src):
        sh(["git", "-C", SRC, "worktree", "add", "--detach", src, commit])
        sh(["git", "-C", src, "apply",
            os.path.join(SRC, "bench", "v1-micro-iterations.patch")])
    sh(["autoreconf", "-fi"], cwd=src)
    os.makedirs(bld, exist_ok=True)
    sh([os.path.join(src, "configure")], cwd=bld)
    sh(["make", "-j2", "bench/micro"], cwd=bld)
    return micro


def instructions(micro, n, size):
    with tempfile.NamedTemporaryFile(suffix=".cg") as out:
        p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out.name,
                            micro, "--iterations", str(n), size],
                           capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit("v1v2: %s failed: %s" % (micro, p.stderr[-2000:]))
        m = re.search(r"^(?:summary|totals): (\d+)", open(out.name).read(), re.M)
        row = re.search(r"sealed=(\d+)", p.stdout)
        return int(m.group(1)), int(row.group(1)) if row else 0


def per_message(micro, size):
    one, wire = instructions(micro, 1, size)
    eleven, _ = instructions(micro, 11, size)
    return (eleven - one) / 10, wire


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--v1", help="the v1 commit (default: before the v2 merge)")
    ap.add_argument("sizes", nargs="*", default=["1K", "64K", "1M", "event"])
    a = ap.parse_args()
    v1 = build_v1(a.v1 or v1_commit())
    v2 = os.path.join(BUILD, "bench", "micro")
    print("| message | v1 instructions | v2 instructions | v2 / v1 | v1 wire bytes | v2 wire bytes |")
    print("|---|---|---|---|---|---|")
    for size in a.sizes:
        i1, w1 = per_message(v1, size)
        i2, w2 = per_message(v2, size)
        what = "stream event" if size == "event" else "request of " + size
        print("| %s | %.0f | %.0f | %.2f | %d | %d |" % (what, i1, i2, i2 / i1, w1, w2))


if __name__ == "__main__":
    main()

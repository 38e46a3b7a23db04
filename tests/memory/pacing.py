#!/usr/bin/env python3
"""Peak memory of tsk programs that allocate and drop a lot: the collector must pace on
all a task allocates (list, map and string storage as well as objects), and frozen data
shared between tasks must be freed when the last task drops it.

Each case runs `tsk` on a program and reads the child's peak resident set (ru_maxrss from
wait4); it must stay within a few megabytes of an empty program's. A measure of the real
process, taken over the whole run: a collector that falls behind, or shared data that is
never freed, raises the peak whatever the heap's own counters say. (The peak includes the
forked driver's own pages from before exec, a floor of ten-odd MiB that the empty program
pays too; without pacing the first case peaks about 130 MiB above it.)

Usage: pacing.py --tsk build/tsk
"""
import argparse
import os
import subprocess
import sys
import tempfile

# name, limit above the empty program's peak (MiB), program
CASES = [
    ("lists built and dropped", 8, """
var total = 0
for i in 0..20000 {
    var xs = []
    for j in 0..1000 { push(xs, j) }
    total += len(xs)
}
print(total)
"""),
    ("maps built and dropped", 8, """
var total = 0
for i in 0..2000 {
    var m = {}
    for j in 0..1000 { m[j] = j }
    total += len(m)
}
print(total)
"""),
    ("strings grown and dropped", 8, """
var total = 0
for i in 0..2000 {
    var s = ""
    for j in 0..500 { s += "xy" }
    total += len(s)
}
print(total)
"""),
    ("frozen data made and dropped", 8, """
var total = 0
for i in 0..5000 {
    let xs = freeze([i, [i, i], {a: i, b: "s${i}"}, list_of(200)])
    total += len(xs)
}
fn list_of(n) {
    var xs = []
    for j in 0..n { push(xs, j) }
    return xs
}
print(total)
"""),
    ("frozen data sent to another task and dropped", 8, """
let ch = chan(8)
let done = chan()
spawn {
    var n = 0
    for xs in ch { n += len(xs) }
    done <- n
}
for i in 0..5000 {
    var xs = []
    for j in 0..200 { push(xs, [j]) }
    ch <- freeze(xs)
}
close(ch)
print(<-done)
"""),
]


def peak_kib(tsk, source):
    with tempfile.NamedTemporaryFile("w", suffix=".tsk", delete=False) as f:
        f.write(source)
        path = f.name
    try:
        proc = subprocess.Popen([tsk, path], stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"pacing: the program failed with status {proc.returncode}:\n{source}")
        return usage.ru_maxrss
    finally:
        os.unlink(path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tsk", required=True)
    args = parser.parse_args()
    empty = peak_kib(args.tsk, "print(1)\n")
    failed = 0
    for name, limit_mib, source in CASES:
        above = (peak_kib(args.tsk, source) - empty) / 1024
        ok = above <= limit_mib
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {above:.1f} MiB above an empty program (limit {limit_mib})")
    print(f"{len(CASES) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Runs generated isolation programs (gen.py) with a tsk binary and checks each run.

Every program runs once per thread count (TSK_THREADS, default 1, 2 and 4), in its own
directory (it imports modules written beside it). A run passes when tsk exits with 0,
stdout has no `VIOLATION` line and ends with the verdict `ok`, and stderr holds no
sanitizer report (the programs themselves never write to stderr). A failing program is
saved with its modules, and the output says how to run it again and how to regenerate it.

Usage:
  run.py --tsk build/tsk [--seed S] [--count K] [--random N] [--threads 1,2,4] [--jobs J]
--seed S --count K runs programs S-0 .. S-(K-1); --random N adds N programs of a seed
taken from the clock (printed, so a failure can be replayed with --seed). Sanitizer
options come from the environment (ASAN_OPTIONS, TSAN_OPTIONS ...), passed on as they are.
Ends with one summary line; exits 1 if any run failed.
"""

import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import gen  # noqa: E402

# What sanitizers write when they find something (ASan, LSan, UBSan, TSan).
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: ThreadSanitizer", "ERROR: ThreadSanitizer", "SUMMARY: ")


def judge(rc, out, err):
    """Why a run failed, or None when it passed."""
    lines = out.splitlines()
    violations = [ln for ln in lines if ln.startswith("VIOLATION")]
    reports = [ln for ln in err.splitlines() if any(m in ln for m in SANITIZER_MARKS)]
    if reports:
        return "sanitizer report: " + reports[0]
    if rc != 0:
        first = next((ln for ln in err.splitlines() if ln.strip()), "")
        return f"exit status {rc}: {first}"
    if violations:
        return violations[0]
    if not lines or lines[-1] != "ok":
        return f"no verdict: last line {lines[-1] if lines else '(none)'!r}"
    if err.strip():
        return "unexpected stderr: " + err.strip().splitlines()[0]
    return None


def run_program(args, seed, index, scratch):
    """Generates and runs one program over every thread count; returns failure texts."""
    where = os.path.join(scratch, f"{seed}-{index}")
    main = gen.write_program(seed, index, where, args.attack)
    failures = []
    for n in args.threads:
        env = dict(os.environ, TSK_THREADS=str(n))
        start = time.monotonic()
        try:
            p = subprocess.run([args.tsk, "main.tsk"], cwd=where, env=env, capture_output=True,
                               timeout=args.timeout)
            why = judge(p.returncode, p.stdout.decode("utf-8", "replace"),
                        p.stderr.decode("utf-8", "replace"))
            err = p.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired as e:
            why = f"timed out after {args.timeout}s (a hang or a deadlock nobody reported)"
            err = (e.stderr or b"").decode("utf-8", "replace")
        if why:
            failures.append((n, why, err, time.monotonic() - start))
    if failures:
        keep = os.path.join(args.keep, f"{seed}-{index}")
        shutil.rmtree(keep, ignore_errors=True)
        shutil.copytree(where, keep)
        report = []
        for n, why, err, secs in failures:
            report.append(f"FAIL {seed}-{index} with TSK_THREADS={n} ({secs:.1f}s): {why}")
            tail = err.strip().splitlines()[:40]
            report.extend("    | " + ln for ln in tail)
        gen_py = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen.py")
        attack = "".join(f" --attack {a}" for a in args.attack)
        report.append(f"  saved to {keep}")
        report.append(f"  rerun:      cd {keep} && TSK_THREADS={failures[0][0]} {os.path.abspath(args.tsk)} main.tsk")
        report.append(f"  regenerate: {gen_py} --seed {seed} --index {index}{attack} --out DIR")
        return report
    shutil.rmtree(where, ignore_errors=True)
    return []


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tsk", required=True, help="the tsk binary")
    ap.add_argument("--seed", default="1")
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--first", type=int, default=0, help="index of the first program")
    ap.add_argument("--random", type=int, default=0, help="programs of a clock-derived seed")
    ap.add_argument("--threads", default="1,2,4", help="TSK_THREADS values, comma-separated")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--keep", default=None, help="where failing programs are saved "
                    "(default: a directory in the system's temporary directory)")
    ap.add_argument("--attack", action="append", default=[], choices=sorted(gen.ATTACKS),
                    help="also generate what trips this known bug")
    args = ap.parse_args()
    args.threads = [int(n) for n in args.threads.split(",")]
    args.tsk = os.path.abspath(args.tsk)
    args.keep = os.path.abspath(args.keep or os.path.join(tempfile.gettempdir(), "tsk-isolation-failures"))

    work = [(args.seed, i) for i in range(args.first, args.first + args.count)]
    if args.random:
        clock_seed = str(time.time_ns() // 1000)
        print(f"isolation: clock seed {clock_seed} for {args.random} more programs "
              f"(replay: --seed {clock_seed} --count {args.random})", flush=True)
        work += [(clock_seed, i) for i in range(args.random)]
    start = time.monotonic()
    failed = 0
    with tempfile.TemporaryDirectory(prefix="tsk-isolation.") as scratch:
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            futures = [pool.submit(run_program, args, s, i, scratch) for s, i in work]
            for f in futures:
                report = f.result()
                if report:
                    failed += 1
                    print("\n".join(report), flush=True)
    runs = len(work) * len(args.threads)
    secs = time.monotonic() - start
    threads = ",".join(map(str, args.threads))
    if failed:
        print(f"isolation: {failed} of {len(work)} programs FAILED ({runs} runs, threads {threads}, {secs:.0f}s)")
        sys.exit(1)
    print(f"isolation: {len(work)} programs passed ({runs} runs, threads {threads}, seed {args.seed}, {secs:.0f}s)")


if __name__ == "__main__":
    main()

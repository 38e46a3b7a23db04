#!/usr/bin/env python3
"""Runs the script tests: every *.tsk under a folder, checked against the expectations
written inline in the file as comments (see tests/scripts/README.md for the format).

Each test runs as `tsk NAME.tsk [args...]` with the file's own folder as the working
directory, so the file name in diagnostics and tracebacks is just `NAME.tsk` and tests can
match it exactly. Files whose name starts with `_`, and everything under a folder named
`_lib`, are modules imported by tests, not tests.

Prints one block per failure (what was expected, what came out, stderr) and ends with
exactly one summary line, `N passed, N failed[, N skipped]`. Exits 1 if any test failed.
"""

import argparse
import concurrent.futures
import difflib
import os
import re
import signal
import subprocess
import sys
import threading

# The directives, each a comment anywhere on a line (usually on a line of its own, or
# after the statement whose output it describes): `# expect: TEXT`.
DIRECTIVE = re.compile(
    rb"# (expect|stderr|stderr-match|exit|args|stdin|skip|slow|signal|memory-limit|env):(.*)$")
# `# signal: INT after-line: ready`: the signal, and the stdout line that triggers it.
SIGNAL = re.compile(r"^([A-Z]+) after-line: (.*)$")
# `# memory-limit: 512M`: the address-space limit (`ulimit -v`), in K, M or G bytes.
MEMORY = re.compile(r"^(\d+)([KMG])$")


class Spec:
    """What one test file expects."""

    def __init__(self):
        self.stdout = []        # exact lines, in order
        self.stderr = []        # substrings that must all appear in stderr
        self.stderr_re = []     # regular expressions that must all match somewhere in stderr
        self.exit = 0
        self.args = []
        self.stdin = None       # bytes, or None for an empty stdin
        self.skip = None        # the reason, when the test is skipped
        self.slow = None        # why it is too slow for a torture build (skipped with --no-slow)
        self.signals = []       # (signal number, stdout line after which to send it), in order
        self.memory_kib = None  # the address-space limit in KiB (`ulimit -v`)
        self.env = {}           # extra environment variables


def directive_text(raw):
    """The text after `name:` — exactly one space after the colon is dropped, so
    `# expect:   x` expects "  x" and `# expect:` alone expects an empty line."""
    text = raw.rstrip(b"\r\n")
    if text.startswith(b" "):
        text = text[1:]
    return text.decode("utf-8", "surrogateescape")


def parse_spec(path):
    spec = Spec()
    with open(path, "rb") as f:
        data = f.read()
    for lineno, line in enumerate(data.split(b"\n"), 1):
        m = DIRECTIVE.search(line)
        if not m:
            continue
        name = m.group(1).decode()
        text = directive_text(m.group(2))
        if name == "expect":
            spec.stdout.append(text)
        elif name == "stderr":
            spec.stderr.append(text)
        elif name == "stderr-match":
            spec.stderr_re.append(re.compile(text))
        elif name == "exit":
            try:
                spec.exit = int(text.strip())
            except ValueError:
                raise ValueError(f"{path}:{lineno}: bad `# exit:` value {text!r}")
        elif name == "args":
            spec.args.extend(text.split())
        elif name == "stdin":
            spec.stdin = (spec.stdin or b"") + text.encode("utf-8", "surrogateescape") + b"\n"
        elif name == "skip":
            spec.skip = text.strip() or "skipped"
        elif name == "slow":
            spec.slow = text.strip() or "slow"
        elif name == "signal":
            m = SIGNAL.match(text)
            if not m or not hasattr(signal, "SIG" + m.group(1)):
                raise ValueError(f"{path}:{lineno}: bad `# signal:` {text!r} (want `INT after-line: TEXT`)")
            spec.signals.append((getattr(signal, "SIG" + m.group(1)), m.group(2)))
        elif name == "memory-limit":
            m = MEMORY.match(text.strip())
            if not m:
                raise ValueError(f"{path}:{lineno}: bad `# memory-limit:` {text!r} (want e.g. 512M)")
            spec.memory_kib = int(m.group(1)) * {"K": 1, "M": 1024, "G": 1024 * 1024}[m.group(2)]
        elif name == "env":
            key, sep, val = text.strip().partition("=")
            if not sep or not key:
                raise ValueError(f"{path}:{lineno}: bad `# env:` {text!r} (want NAME=VALUE)")
            spec.env[key] = val
    return spec


def find_tests(root, name_filter):
    tests = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "_lib")
        for name in sorted(files):
            if not name.endswith(".tsk") or name.startswith("_"):
                continue
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, root)
            if name_filter and name_filter not in rel:
                continue
            tests.append((rel, path))
    return tests


def split_lines(text):
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def communicate_with_signals(proc, spec, timeout):
    """Like proc.communicate, but reads stdout line by line and sends each of
    spec.signals to the process once its trigger line has been printed. Returns
    (stdout, stderr, timed_out)."""
    out_lines, err_parts = [], []
    err_reader = threading.Thread(target=lambda: err_parts.append(proc.stderr.read()))
    err_reader.start()
    if spec.stdin is not None:
        proc.stdin.write(spec.stdin)
        proc.stdin.close()
    timed_out = threading.Event()

    def on_timeout():
        timed_out.set()
        kill_group(proc)

    timer = threading.Timer(timeout, on_timeout)
    timer.start()
    pending = list(spec.signals)
    try:
        for raw in iter(proc.stdout.readline, b""):
            out_lines.append(raw)
            line = raw.rstrip(b"\r\n").decode("utf-8", "backslashreplace")
            if pending and pending[0][1] == line:
                try:
                    proc.send_signal(pending.pop(0)[0])
                except ProcessLookupError:
                    pass
        proc.wait()
    finally:
        timer.cancel()
        err_reader.join()
    return b"".join(out_lines), b"".join(err_parts), timed_out.is_set()


def run_one(tsk, path, timeout, env, no_slow=False, no_memory_limit=False):
    """Returns (status, report): status is 'pass', 'fail' or 'skip'; report is the text
    printed for a failure (or the reason for a skip)."""
    try:
        spec = parse_spec(path)
    except (OSError, ValueError, re.error) as e:
        return "fail", f"  bad test file: {e}"
    if spec.skip is not None:
        return "skip", spec.skip
    if no_slow and spec.slow is not None:
        return "skip", "slow: " + spec.slow
    if no_memory_limit and spec.memory_kib is not None:
        return "skip", "memory-limit: sanitizers reserve more address space than the limit"

    folder, name = os.path.split(path)
    cmd = [tsk, name] + spec.args
    if spec.memory_kib is not None:
        # Through the shell's ulimit: a preexec_fn is unsafe with the driver's threads.
        cmd = ["/bin/sh", "-c", f'ulimit -v {spec.memory_kib} && exec "$0" "$@"'] + cmd
    if spec.env:
        env = dict(env, **spec.env)
    proc = subprocess.Popen(
        cmd, cwd=folder or ".", env=env,
        stdin=subprocess.PIPE if spec.stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True)  # its own process group, so a timeout kills its children too
    if spec.signals:
        out, err, timed_out = communicate_with_signals(proc, spec, timeout)
        if timed_out:
            return "fail", f"  timed out after {timeout:g} s\n" + stderr_block(err)
    else:
        try:
            out, err = proc.communicate(input=spec.stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc)
            out, err = proc.communicate()
            return "fail", f"  timed out after {timeout:g} s\n" + stderr_block(err)

    out_text = out.decode("utf-8", "backslashreplace")
    err_text = err.decode("utf-8", "backslashreplace")
    problems = []
    code = proc.returncode
    if code < 0:
        try:
            signame = signal.Signals(-code).name
        except ValueError:
            signame = f"signal {-code}"
        problems.append(f"  killed by {signame} (expected exit {spec.exit})")
    elif code != spec.exit:
        problems.append(f"  exit status {code}, expected {spec.exit}")

    got = split_lines(out_text)
    if got != spec.stdout:
        problems.append("  stdout differs (--- expected, +++ got):")
        for d in difflib.unified_diff(spec.stdout, got, "expected", "got", lineterm="", n=2):
            problems.append("    " + d)

    for want in spec.stderr:
        if want not in err_text:
            problems.append(f"  stderr lacks: {want}")
    for want in spec.stderr_re:
        if not want.search(err_text):
            problems.append(f"  stderr does not match: {want.pattern}")
    if spec.exit == 0 and not spec.stderr and not spec.stderr_re and err_text:
        problems.append("  stderr should be empty")

    if not problems:
        return "pass", ""
    return "fail", "\n".join(problems) + "\n" + stderr_block(err)


def stderr_block(err):
    text = err.decode("utf-8", "backslashreplace") if isinstance(err, bytes) else err
    if not text:
        return "  (stderr empty)"
    lines = split_lines(text)
    shown = lines[:30]
    more = f"\n    ... {len(lines) - 30} more lines" if len(lines) > 30 else ""
    return "  stderr:\n" + "\n".join("    " + l for l in shown) + more


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tsk", required=True, help="the tsk binary to test")
    ap.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--filter", default="", help="run only tests whose path contains this")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per test")
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VAL",
                    help="set an environment variable for every test (repeatable)")
    ap.add_argument("--verbose", "-v", action="store_true", help="also list passes and skips")
    ap.add_argument("--no-slow", action="store_true",
                    help="skip tests marked `# slow:` (torture builds collect at every safepoint)")
    ap.add_argument("--no-memory-limit", action="store_true",
                    help="skip tests with `# memory-limit:` (sanitizer builds cannot run under one)")
    ap.add_argument("dir", help="the folder of tests")
    opts = ap.parse_args()

    tsk = os.path.abspath(opts.tsk)
    if not os.access(tsk, os.X_OK):
        print(f"run_scripts: {opts.tsk} is not an executable", file=sys.stderr)
        return 2
    env = dict(os.environ)
    for kv in opts.env:
        key, sep, val = kv.partition("=")
        if not sep or not key:
            print(f"run_scripts: --env wants KEY=VAL, got {kv!r}", file=sys.stderr)
            return 2
        env[key] = val

    if not os.path.isdir(opts.dir):
        print(f"run_scripts: {opts.dir} is not a folder", file=sys.stderr)
        return 2
    tests = find_tests(opts.dir, opts.filter)
    counts = {"pass": 0, "fail": 0, "skip": 0}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
        futures = {pool.submit(run_one, tsk, path, opts.timeout, env, opts.no_slow,
                               opts.no_memory_limit): rel
                   for rel, path in tests}
        results = {}
        for fut in concurrent.futures.as_completed(futures):
            results[futures[fut]] = fut.result()
    for rel, _ in tests:  # report in a stable order, whatever order they finished in
        status, report = results[rel]
        counts[status] += 1
        if status == "fail":
            print(f"FAIL {rel}\n{report}", flush=True)
        elif opts.verbose:
            print(f"{status} {rel}" + (f" ({report})" if status == "skip" else ""))

    summary = f"{counts['pass']} passed, {counts['fail']} failed"
    if counts["skip"]:
        summary += f", {counts['skip']} skipped"
    print(summary)
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())

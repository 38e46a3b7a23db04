#!/usr/bin/env python3
"""Tests of the `tsk` command as a process (SPEC §12): what it says and which status it
exits with for files it cannot read, bad --threads values, a stdout that fails (a full
disk: /dev/full), a stdout pipe whose reader goes away (`| head -1`) and the sandbox
flags (--sandbox, --allow). Script behaviour
is tested by tests/run_scripts.py; this covers what a script file cannot express.

Usage: test_cli.py --tsk build/tsk   (CTest runs it as the `cli` test)
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

TSK = None
TIMEOUT = 60  # seconds; every case here ends in well under one


def run(args, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("timeout", TIMEOUT)
    kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run([TSK] + args, **kw)


class UnreadableFiles(unittest.TestCase):
    """A path that cannot be read is a usage error (status 2) naming the path and why,
    for every subcommand alike."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tsk_cli_")
        self.missing = os.path.join(self.dir, "missing.tsk")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def check(self, args, path, reason):
        r = run(args)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(f"tsk: cannot read '{path}': {reason}", r.stderr.decode())
        self.assertEqual(r.stdout, b"")

    def test_check_directory(self):
        self.check(["check", self.dir], self.dir, "Is a directory")

    def test_check_missing_file(self):
        self.check(["check", self.missing], self.missing, "No such file or directory")

    def test_check_reports_each_file_and_checks_the_others(self):
        good = os.path.join(self.dir, "good.tsk")
        with open(good, "w") as f:
            f.write("print(1)\n")
        r = run(["check", self.dir, good, self.missing])
        self.assertEqual(r.returncode, 2)
        err = r.stderr.decode()
        self.assertIn(f"'{self.dir}': Is a directory", err)
        self.assertIn(f"'{self.missing}': No such file or directory", err)
        self.assertEqual(run(["check", good]).returncode, 0)

    def test_run_directory(self):
        self.check([self.dir], self.dir, "Is a directory")

    def test_run_missing_file(self):
        self.check([self.missing], self.missing, "No such file or directory")

    def test_dis_directory(self):
        self.check(["dis", self.dir], self.dir, "Is a directory")


class Threads(unittest.TestCase):
    """--threads and TSK_THREADS take 1 to 1024; anything else is a usage error that
    says what is allowed."""

    def bad(self, value, words, env_var=False):
        if env_var:
            r = run(["-e", "print(1)"], env=dict(os.environ, TSK_THREADS=value))
            name = "TSK_THREADS"
        else:
            r = run(["--threads", value, "-e", "print(1)"])
            name = "--threads"
        self.assertEqual(r.returncode, 2)
        first = r.stderr.decode().splitlines()[0]
        self.assertTrue(first.startswith(f"tsk: {name} "), first)
        self.assertIn(words, first)
        self.assertIn(f"'{value}'", first)
        self.assertEqual(r.stdout, b"")

    def test_above_the_maximum_names_it(self):
        self.bad("99999", "at most 1024")
        self.bad("1025", "at most 1024")
        self.bad("99999999999999999999", "at most 1024")

    def test_zero(self):
        self.bad("0", "at least 1")

    def test_negative(self):
        self.bad("-3", "positive")

    def test_not_a_number(self):
        self.bad("abc", "from 1 to 1024")
        self.bad("", "from 1 to 1024")
        self.bad("2x", "from 1 to 1024")

    def test_environment_variable(self):
        self.bad("5000", "at most 1024", env_var=True)
        self.bad("0", "at least 1", env_var=True)
        self.bad("many", "from 1 to 1024", env_var=True)

    def test_bounds_are_accepted(self):
        for value in ["1", "1024"]:
            r = run(["--threads", value, "-e", "print(task_id())"])
            self.assertEqual((r.returncode, r.stdout, r.stderr), (0, b"1\n", b""))

    def test_missing_value(self):
        r = run(["--threads"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("--threads needs a number", r.stderr.decode())


class FailedWrites(unittest.TestCase):
    """A failed write to stdout is reported and exits 1 (SPEC §12)."""

    def full(self, code):
        with open("/dev/full", "wb") as full:
            return run(["-e", code], stdout=full, capture_output=False, stderr=subprocess.PIPE)

    def test_full_disk_at_the_end(self):
        r = self.full('print("hello")')
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.decode(), "tsk: cannot write to stdout: No space left on device\n")

    def test_full_disk_while_running_is_reported_once(self):
        r = self.full('for i in 0..200_000 { print(i) }\nprint("done")')
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.decode(), "tsk: cannot write to stdout: No space left on device\n")

    def test_full_disk_and_an_error(self):
        r = self.full('print("hello")\nthrow "boom"')
        self.assertEqual(r.returncode, 1)
        err = r.stderr.decode()
        self.assertIn("tsk: cannot write to stdout", err)
        self.assertIn("error: Error: boom", err)

    def test_full_disk_after_os_exit_zero(self):
        r = self.full('import os\nprint("hello")\nos.exit(0)')
        self.assertEqual(r.returncode, 1)

    @unittest.skipUnless(os.path.exists("/dev/full"), "needs /dev/full")
    def test_failed_stderr_still_fails(self):
        with open("/dev/full", "wb") as full:
            r = run(["-e", 'throw "boom"'], stderr=full, capture_output=False, stdout=subprocess.PIPE)
        self.assertEqual(r.returncode, 1)


class CommandOutput(unittest.TestCase):
    """The command's own output (it writes through stdio, not iostreams): --version and
    --help on stdout, a usage error on stderr, a script read whole from a stdin pipe."""

    def test_version(self):
        r = run(["--version"])
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, b"tsk 0.1.0\n", b""))

    def test_help(self):
        r = run(["--help"])
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertTrue(r.stdout.startswith(b"usage: tsk [options] FILE.tsk"), r.stdout[:60])
        self.assertIn(b"TSK_THREADS=N", r.stdout)

    def test_usage_error_goes_to_stderr_with_the_usage(self):
        r = run(["--bogus"])
        self.assertEqual((r.returncode, r.stdout), (2, b""))
        self.assertTrue(r.stderr.startswith(b"tsk: unknown option '--bogus'\nusage: tsk"), r.stderr)

    @unittest.skipUnless(os.path.exists("/dev/full"), "needs /dev/full")
    def test_version_to_a_full_disk(self):
        with open("/dev/full", "wb") as full:
            r = run(["--version"], stdout=full, capture_output=False, stderr=subprocess.PIPE)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.decode(), "tsk: cannot write to stdout: No space left on device\n")

    def test_script_on_stdin(self):
        # Larger than one read, so that the script is read to its end.
        code = b"var n = 0\n" + b"n += 1\n" * 20_000 + b"print(n)\n"
        r = subprocess.run([TSK], input=code, capture_output=True, timeout=TIMEOUT)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, b"20000\n", b""))


class ClosedPipe(unittest.TestCase):
    """A closed stdout pipe ends the program quietly with 141, as SIGPIPE would, even
    with tasks still running."""

    def read_one_line_then_close(self, code):
        p = subprocess.Popen([TSK, "-e", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL)
        first = p.stdout.readline()
        p.stdout.close()
        err = p.stderr.read()
        p.stderr.close()
        p.wait(timeout=TIMEOUT)
        return first, p.returncode, err

    def test_pipe_to_head(self):
        bash = shutil.which("bash")
        if not bash:
            self.skipTest("needs bash")
        script = ('"$0" -e \'for i in 0..1000000 { print(i) }\' | head -1; '
                  'echo "status ${PIPESTATUS[0]}" >&2')
        r = subprocess.run([bash, "-c", script, TSK], capture_output=True, timeout=TIMEOUT)
        self.assertEqual(r.stdout, b"0\n")
        self.assertEqual(r.stderr, b"status 141\n")

    def test_closed_pipe_with_busy_tasks(self):
        first, status, err = self.read_one_line_then_close(
            'spawn { var n = 0; while true { n += 1 } }\n'
            'spawn { sleep(1000) }\n'
            'var i = 0\n'
            'while true { print(i); i += 1 }')
        self.assertEqual(first, b"0\n")
        self.assertEqual(status, 141)
        self.assertEqual(err, b"")

    def test_closed_pipe_in_a_task(self):
        first, status, err = self.read_one_line_then_close(
            'let t = spawn { var i = 0; while true { print(i); i += 1 } }\n'
            'await t')
        self.assertEqual(first, b"0\n")
        self.assertEqual(status, 141)
        self.assertEqual(err, b"")


class Sandbox(unittest.TestCase):
    """--sandbox leaves out fs, net, proc and os.env; --allow gives some back; a name
    --allow does not know is a usage error."""

    def imports(self, flags):
        # One process per module: an import is a statement, not an expression.
        got = {}
        for name in ["fs", "net", "proc", "json"]:
            r = run(flags + ["-e", f"import {name}\nprint(\"ok\")"])
            got[name] = r.stdout.decode().strip() or r.stderr.decode().splitlines()[0]
        return got

    def test_sandbox(self):
        got = self.imports(["--sandbox"])
        for name in ["fs", "net", "proc"]:
            self.assertEqual(got[name], f"error: ImportError: module '{name}' is not allowed in this runtime (a sandbox)")
        self.assertEqual(got["json"], "ok")
        r = run(["--sandbox", "-e", 'import os\nprint(os.env("HOME"))'])
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"Error: os.env() is not allowed in this runtime (a sandbox)", r.stderr)

    def test_allow(self):
        got = self.imports(["--allow", "net,proc"])
        self.assertEqual(got["net"], "ok")
        self.assertEqual(got["proc"], "ok")
        self.assertIn("not allowed", got["fs"])
        r = run(["--allow=os.env", "-e", 'import os\nprint(os.env("TSK_CLI_TEST"))'],
                env=dict(os.environ, TSK_CLI_TEST="seen"))
        self.assertEqual((r.returncode, r.stdout), (0, b"seen\n"), r.stderr)

    def test_allow_unknown(self):
        r = run(["--allow", "fs,sockets", "-e", "print(1)"])
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"tsk: --allow takes fs, net, proc and os.env, not 'sockets'", r.stderr)
        self.assertEqual(r.stdout, b"")


def main():
    global TSK
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tsk", required=True, help="the tsk binary to test")
    opts, rest = ap.parse_known_args()
    TSK = os.path.abspath(opts.tsk)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Runs the tsk code blocks of Markdown documents and checks each against the output the
document shows beside it, so README.md and docs/language.md cannot drift from what the
`tsk` binary does. CMake's `doc_snippets` test runs it; by hand:

    python3 tests/readme_snippets.py --tsk build/tsk README.md --checked-only docs/language.md

How a document states what a block does (the conventions a reader sees):

- A ```tsk block is a whole program. A comment `# prints: TEXT` anywhere on a line (after
  a statement, or on a line of its own) is the next line the program writes to stdout;
  exactly one space after the colon is dropped. The program's stdout must be exactly those
  lines in order, its stderr empty and its exit status 0.

- A ```console block is a terminal session: each line starting with `$ ` is a command,
  and the lines up to the next command are what it shows, stdout and stderr together as a
  terminal shows them (one pipe for both, so their true order). Two commands exist:
  `$ tsk ARGS...` (the tsk binary under test; ARGS split as a shell would) and `$ echo $?`
  (shows the exit status of the command before). A `tsk` command that is not followed by
  `$ echo $?` must exit with 0.

- A ```console block right after a ```tsk block (nothing but blank lines between) runs
  that program: the block is saved under the name of the first `*.tsk` argument of the
  session's first `tsk` command, so tracebacks and deadlock reports name that file, with
  lines counted from the block's first line. Such a block needs no `# prints:` (the
  session shows its output); if it has some, they are checked too, in a run of their own.

- `<!-- snippet: skip REASON -->` on the line before a fence skips that block (it is
  counted and listed as skipped with its reason).

Every program runs in a fresh scratch folder holding a link `lib` to examples/lib, so a
block may `import "lib/geometry.tsk"` exactly as the programs in examples/ do.

Which blocks are checked: in the files given as plain arguments, every ```tsk and
```console block (a ```tsk block without `# prints:` or a session must print nothing and
exit 0); in the files given with `--checked-only`, the ```tsk blocks that carry a
`# prints:` or a session, and every ```console block. Other fences (```sh, plain ```)
are never run.

Prints one report per failing block (its file and line, what was expected, what came
out) and ends with one summary line, `N passed, N failed[, N skipped]`; exits 1 if any
block failed, 2 on bad usage.
"""

import argparse
import difflib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile

PRINTS = re.compile(r"# prints:(.*)$")
FENCE = re.compile(r"^```\s*([A-Za-z0-9_+-]*)\s*$")
SKIP = re.compile(r"^<!--\s*snippet:\s*skip\b\s*(.*?)\s*-->\s*$")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Block:
    """One fenced block: its language, first line number (of the fence), text lines."""

    def __init__(self, lang, line, lines, skip):
        self.lang = lang
        self.line = line
        self.lines = lines
        self.skip = skip          # the reason, when marked to be skipped
        self.session = None       # a ```console Block directly after a ```tsk block


def directive_text(raw):
    """The text after `prints:` with exactly one leading space dropped."""
    return raw[1:] if raw.startswith(" ") else raw


def parse_blocks(path):
    """The fenced blocks of a Markdown file, with each ```console block that follows a
    ```tsk block attached to it as its session."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    blocks = []
    i = 0
    previous_end = None       # the index of the line after the last block's closing fence
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        skip_match = SKIP.match(lines[i - 1]) if i > 0 else None
        start = i
        i += 1
        body = []
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise ValueError(f"{path}:{start + 1}: the block opened here is never closed")
        i += 1
        block = Block(m.group(1), start + 1, body,
                      (skip_match.group(1) or "skipped") if skip_match else None)
        attached = (block.lang == "console" and blocks and blocks[-1].lang == "tsk" and
                    blocks[-1].session is None and
                    all(not l.strip() for l in lines[previous_end:start]))
        if attached:
            blocks[-1].session = block
        else:
            blocks.append(block)
        previous_end = i
    return blocks


def expected_prints(block):
    return [directive_text(m.group(1)) for m in map(PRINTS.search, block.lines) if m]


def parse_session(block):
    """[(argv, expected output lines, expected exit status)] of a ```console block."""
    commands = []
    for lineno, line in enumerate(block.lines, block.line + 1):
        if line.startswith("$ "):
            argv = shlex.split(line[2:])
            if argv == ["echo", "$?"]:
                if not commands or commands[-1][2] is not None:
                    raise ValueError(f"line {lineno}: `echo $?` must follow a tsk command")
                commands[-1][2] = "pending"
                continue
            if not argv or argv[0] != "tsk":
                raise ValueError(f"line {lineno}: only `tsk ...` and `echo $?` can run here")
            commands.append([argv, [], None])
        elif not commands:
            raise ValueError(f"line {lineno}: a session starts with a `$ tsk` command")
        elif commands[-1][2] == "pending":
            try:
                commands[-1][2] = int(line.strip())
            except ValueError:
                raise ValueError(f"line {lineno}: `echo $?` shows a number, not {line!r}")
        elif commands[-1][2] is not None:
            raise ValueError(f"line {lineno}: output after `echo $?` belongs to no command")
        else:
            commands[-1][1].append(line)
    for c in commands:
        if c[2] == "pending":
            raise ValueError("`echo $?` is not followed by the status")
    return [(argv, out, 0 if status is None else status) for argv, out, status in commands]


def split_lines(text):
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def run(argv, cwd, timeout, merge):
    """Runs argv; returns (exit status, stdout, stderr) with stderr merged into stdout
    when `merge`. A timeout or a signal is reported as a status with a description."""
    proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT if merge else subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return f"timed out after {timeout:g} s", out.decode("utf-8", "backslashreplace"), ""
    decode = lambda b: (b or b"").decode("utf-8", "backslashreplace")
    status = proc.returncode
    if status < 0:
        status = f"killed by signal {-status}"
    return status, decode(out), decode(err)


def diff(want, got):
    return ["    " + d for d in difflib.unified_diff(want, got, "expected", "got", lineterm="", n=2)]


def check_block(block, tsk, timeout):
    """Returns the list of problems of one ```tsk or ```console block (empty: it passed)."""
    problems = []
    scratch = tempfile.mkdtemp(prefix="tsk-snippet.")
    try:
        os.symlink(os.path.join(REPO, "examples", "lib"), os.path.join(scratch, "lib"))
        session = block if block.lang == "console" else block.session
        commands = parse_session(session) if session else []
        if block.lang == "tsk":
            name = "snippet.tsk"
            for argv, _, _ in commands[:1]:
                name = next((a for a in argv[1:] if a.endswith(".tsk")), name)
            with open(os.path.join(scratch, name), "w", encoding="utf-8") as f:
                f.write("\n".join(block.lines) + "\n")
            prints = expected_prints(block)
            if prints or not session:
                status, out, err = run([tsk, name], scratch, timeout, merge=False)
                if status != 0:
                    problems.append(f"  `tsk {name}` exited with {status}, expected 0")
                if split_lines(out) != prints:
                    problems.append("  stdout differs from the `# prints:` lines:")
                    problems.extend(diff(prints, split_lines(out)))
                if err:
                    problems.append("  stderr should be empty; it is:")
                    problems.extend("    " + l for l in split_lines(err))
        for argv, want, want_status in commands:
            shown = " ".join(shlex.quote(a) for a in argv)
            status, out, _ = run([tsk] + argv[1:], scratch, timeout, merge=True)
            if status != want_status:
                problems.append(f"  `{shown}` exited with {status}, expected {want_status}")
            if split_lines(out) != want:
                problems.append(f"  `{shown}` shows other output than the session:")
                problems.extend(diff(want, split_lines(out)))
    except ValueError as e:
        problems.append(f"  bad session block: {e}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tsk", required=True, help="the tsk binary to check the documents with")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per command")
    ap.add_argument("--checked-only", action="append", default=[], metavar="FILE",
                    help="a document of which only blocks with expectations are checked")
    ap.add_argument("--verbose", "-v", action="store_true", help="also list passes and skips")
    ap.add_argument("files", nargs="*", help="documents of which every block is checked")
    opts = ap.parse_args()

    tsk = os.path.abspath(opts.tsk)
    if not os.access(tsk, os.X_OK):
        print(f"readme_snippets: {opts.tsk} is not an executable", file=sys.stderr)
        return 2
    counts = {"pass": 0, "fail": 0, "skip": 0}
    documents = [(f, True) for f in opts.files] + [(f, False) for f in opts.checked_only]
    if not documents:
        print("readme_snippets: no document to check", file=sys.stderr)
        return 2
    for path, every in documents:
        try:
            blocks = parse_blocks(path)
        except (OSError, ValueError) as e:
            print(f"readme_snippets: {e}", file=sys.stderr)
            return 2
        for block in blocks:
            if block.lang == "tsk":
                if not every and not block.session and not expected_prints(block):
                    continue
            elif block.lang != "console":
                continue
            where = f"{path}:{block.line}"
            if block.skip is not None:
                counts["skip"] += 1
                if opts.verbose:
                    print(f"skip {where} ({block.skip})")
                continue
            problems = check_block(block, tsk, opts.timeout)
            if problems:
                counts["fail"] += 1
                print(f"FAIL {where}\n" + "\n".join(problems), flush=True)
            else:
                counts["pass"] += 1
                if opts.verbose:
                    print(f"pass {where}")
    summary = f"{counts['pass']} passed, {counts['fail']} failed"
    if counts["skip"]:
        summary += f", {counts['skip']} skipped"
    print(summary)
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())

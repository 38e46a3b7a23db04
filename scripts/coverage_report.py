#!/usr/bin/env python3
"""Prints the line coverage of tsk's library sources, per folder and in total.

Reads the counters (.gcda) that a build configured with -DTSK_COVERAGE=ON left after its
tests ran, through gcovr, and sums them per top-level folder of the sources: lang/ vm/
runtime/ stdlib/ cli/ (the generated parser and lexer, the tests and the system headers
are left out). A low figure is reported, never a failure; the script fails (exit 1) when
the measurement itself is broken: gcovr missing or failing, or a folder with no line
run at all (no counters: the tests did not run, or ran another build).

Usage: scripts/coverage_report.py BUILD_DIR   (from the repository's root)
"""
import json
import os
import shutil
import subprocess
import sys

FOLDERS = ["lang", "vm", "runtime", "stdlib", "cli"]


def fail(message):
    print(f"coverage: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 2:
        fail("usage: scripts/coverage_report.py BUILD_DIR")
    build = sys.argv[1]
    if not os.path.isdir(build):
        fail(f"no build directory {build}")
    if not shutil.which("gcovr"):
        fail("gcovr is missing; run scripts/setup first")
    summary = os.path.join(build, "coverage.json")
    # Sources under the folders only (gcovr's filters are regular expressions on paths
    # relative to the root); the generated front end lives in the build tree, outside them.
    filters = []
    for folder in FOLDERS:
        filters += ["--filter", f"{folder}/"]
    # One gcov at a time: gcovr 5.2's parallel mode hangs when a gcov output fails to
    # parse, where the serial one reports the error and fails.
    command = ["gcovr", "--root", ".", *filters, "--json-summary", summary, build]
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        fail(f"gcovr failed ({run.returncode}):\n{run.stdout}{run.stderr}")
    try:
        with open(summary) as f:
            files = json.load(f)["files"]
    except (OSError, ValueError, KeyError) as e:
        fail(f"cannot read gcovr's summary {summary}: {e}")

    totals = {folder: [0, 0, 0] for folder in FOLDERS}  # files, covered lines, lines
    for entry in files:
        folder = entry["filename"].split("/", 1)[0]
        if folder not in totals:
            continue
        totals[folder][0] += 1
        totals[folder][1] += entry["line_covered"]
        totals[folder][2] += entry["line_total"]

    def percent(covered, total):
        return f"{100.0 * covered / total:5.1f}%" if total else "    -"

    print(f"{'folder':<10} {'files':>5} {'lines':>7} {'covered':>8} {'coverage':>9}")
    all_covered = all_lines = all_files = 0
    for folder in FOLDERS:
        nfiles, covered, lines = totals[folder]
        print(f"{folder + '/':<10} {nfiles:>5} {lines:>7} {covered:>8} {percent(covered, lines):>9}")
        all_files += nfiles
        all_covered += covered
        all_lines += lines
    print(f"{'total':<10} {all_files:>5} {all_lines:>7} {all_covered:>8} {percent(all_covered, all_lines):>9}")
    # Every folder runs when any test does (cli/ is the command the script tests start):
    # one with no line run means the counters are missing or stale.
    empty = [folder for folder in FOLDERS if totals[folder][1] == 0]
    if empty:
        fail("no line ran in " + ", ".join(f + "/" for f in empty) +
             ": the counters are missing (were the tests run on this build?)")


if __name__ == "__main__":
    main()

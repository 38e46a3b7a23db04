#!/usr/bin/env python3
"""json.decode against the RFC 8259 cases of tests/json/ (SPEC §15), in the manner of
the public JSONTestSuite, with cases of our own:

- y_*.json must decode, and json.encode of the result must equal Python's compact
  json.dumps of json.loads of the same text (ints beyond 64 bits compared as floats,
  as tsk decodes them);
- n_*.json must raise ValueError whose message names the line and column;
- i_*.json are implementation-defined: they must not crash (exit 0 either way), and
  the outcome tsk chose (IMPLEMENTATION_DEFINED below, docs/language.md) must hold.

Each case runs in a `tsk` process of its own (the file's bytes are embedded in the
program as a string of \\xHH escapes), so a crash is pinned to its case.
Usage: json_conformance.py PATH/TO/tsk [CASES_DIR]
"""

import concurrent.futures
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.setrecursionlimit(10_000)  # the 512-deep cases, for json.loads and normal() below

# tsk's choice for each implementation-defined case: "accepted" or "rejected".
IMPLEMENTATION_DEFINED = {
    "i_structure_utf8_bom": "rejected",              # a BOM is not JSON text (as Python)
    "i_number_huge_exponent": "accepted",            # inf (as Python and JavaScript)
    "i_number_negative_huge_exponent": "accepted",   # -inf
    "i_number_underflow": "accepted",                # 0.0
    "i_number_huge_exponent_digits": "accepted",     # inf
    "i_number_very_big_int": "accepted",             # a float (beyond 64 bits)
    "i_number_long_zero_fraction_exponent": "accepted",
    "i_string_lone_high_surrogate": "rejected",      # tsk strings are UTF-8: no lone surrogates
    "i_string_lone_low_surrogate": "rejected",
    "i_string_inverted_surrogates": "rejected",
    "i_string_high_surrogate_then_char": "rejected",
    "i_string_two_high_surrogates": "rejected",
    "i_string_high_surrogate_then_escape": "rejected",
    "i_object_key_lone_surrogate": "rejected",
}

PROGRAM = """import json
let text = "%s"
var value = nil
var ok = false
try {
    value = json.decode(text)
    ok = true
} catch e {
    print("rejected " + e.kind)
    print(e.message)
}
if ok {
    print("accepted")
    try { print(json.encode(value)) } catch e { print("unencodable " + e.kind) }
}
"""

SAFE = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 []{}:,.+-_/'")


def tsk_string(data):
    return "".join(chr(b) if b in SAFE else "\\x%02x" % b for b in data)


def python_expected(data):
    """Python's compact encoding of the text, with ints outside 64 bits as floats."""
    def normal(v):
        if isinstance(v, bool) or v is None:
            return v
        if isinstance(v, int):
            return v if -2**63 <= v < 2**63 else float(v)
        if isinstance(v, list):
            return [normal(x) for x in v]
        if isinstance(v, dict):
            return {k: normal(x) for k, x in v.items()}
        return v
    value = normal(json.loads(data.decode("utf-8")))
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def run_case(tsk, path):
    name = os.path.basename(path)[:-5]
    with open(path, "rb") as f:
        data = f.read()
    try:
        proc = subprocess.run([tsk], input=(PROGRAM % tsk_string(data)).encode(),
                              capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        return f"{name}: timed out"
    if proc.returncode != 0:
        return f"{name}: exit {proc.returncode}: {proc.stderr.decode('utf-8', 'replace').strip()[:300]}"
    lines = proc.stdout.decode("utf-8", "replace").split("\n")
    outcome = lines[0]
    if outcome.startswith("rejected"):
        if outcome != "rejected ValueError":
            return f"{name}: raised {outcome[9:]}, not ValueError: {lines[1]}"
        if not re.match(r"json\.decode\(\): line \d+, column \d+: \S", lines[1]):
            return f"{name}: the message does not name line and column: {lines[1]}"
    kind = name[0]
    if kind == "y":
        if outcome != "accepted":
            return f"{name}: rejected: {lines[1]}"
        expected = python_expected(data)
        if lines[1] != expected:
            return f"{name}: decoded as {lines[1][:200]!r}, expected {expected[:200]!r}"
    elif kind == "n":
        if outcome == "accepted":
            return f"{name}: accepted (as {lines[1][:200]!r})"
    elif kind == "i":
        decided = IMPLEMENTATION_DEFINED.get(name)
        if decided is None:
            return f"{name}: no decision recorded in IMPLEMENTATION_DEFINED"
        if not outcome.startswith(decided):
            return f"{name}: {outcome}, expected {decided}: {lines[1][:200]}"
    else:
        return f"{name}: the name must start with y_, n_ or i_"
    return None


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: json_conformance.py PATH/TO/tsk [CASES_DIR]")
    tsk = sys.argv[1]
    cases_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "json")
    paths = sorted(os.path.join(cases_dir, n) for n in os.listdir(cases_dir) if n.endswith(".json"))
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        failures = [f for f in pool.map(lambda p: run_case(tsk, p), paths) if f]
    for failure in failures:
        print("FAIL " + failure)
    print(f"{len(paths) - len(failures)} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

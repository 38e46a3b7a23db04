#!/usr/bin/env python3
"""The dependency rule of DESIGN.md's layout, checked: cli -> include/tsk ->
runtime/stdlib -> vm -> lang. Nothing in vm/ or lang/ includes a header of runtime/ or
stdlib/ (the interpreter reaches the runtime only through vm/host.hpp), and cli/ includes
only the public headers (tsk/...) besides the system's. A new include that breaks the rule
fails this test with the file, the line and the rule.

Usage: layering.py SOURCE_DIR
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')

# folder -> (rule, a predicate on the included path that breaks it)
RULES = {
    "vm": ("vm/ includes nothing of runtime/ or stdlib/ (use vm/host.hpp)",
           lambda inc: inc.startswith(("runtime/", "stdlib/", "cli/", "tsk/"))),
    "lang": ("lang/ includes nothing of runtime/ or stdlib/",
             lambda inc: inc.startswith(("runtime/", "stdlib/", "cli/", "tsk/"))),
    "cli": ("cli/ is a host: it includes only the public headers (tsk/...)",
            lambda inc: not inc.startswith("tsk/")),
}


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    broken = 0
    checked = 0
    for folder, (rule, breaks) in RULES.items():
        for name in sorted(os.listdir(os.path.join(root, folder))):
            if not name.endswith((".cpp", ".hpp", ".h")):
                continue
            path = os.path.join(folder, name)
            checked += 1
            with open(os.path.join(root, path), encoding="utf-8") as f:
                for number, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if m and breaks(m.group(1)):
                        # The generated parser header is part of lang/ (built from grammar/).
                        if folder == "lang" and m.group(1) == "parser.hpp":
                            continue
                        print(f"{path}:{number}: includes \"{m.group(1)}\": {rule}")
                        broken += 1
    print(f"layering: {checked} files checked")
    print(f"{0 if broken else 1} passed, {1 if broken else 0} failed")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())

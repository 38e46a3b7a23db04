#!/usr/bin/env python3
"""Keeps what makes `tsk` start fast (docs/performance.md, "Start-up") from coming back
unnoticed, without timing anything: the shipped command must not load the shared
libstdc++, libgcc_s or Boost.Context (0.7 ms of loading, relocating and cpuid at every
start), and must not contain the iostreams' static initialiser (0.1 ms: the C++ locale
built before main), which any file including <iostream> brings in.

Reads the binary with binutils' `readelf -d` (the libraries it asks the loader for) and
`nm` (its symbols; a stripped binary skips that check).
Usage: startup_deps.py TSK_BINARY   (CTest runs it as `startup_deps` in the builds that
link the runtime statically)
"""

import shutil
import subprocess
import sys

SHARED_LIBRARIES_NOT_WANTED = ["libstdc++.so", "libgcc_s.so", "libboost_context.so"]
IOSTREAM_INIT = "_ZNSt8ios_base4InitC1Ev"  # std::ios_base::Init::Init()


def needed_libraries(binary):
    out = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True)
    return [line.split("[", 1)[1].rstrip("]") for line in out.stdout.splitlines()
            if "(NEEDED)" in line and "[" in line]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    binary = sys.argv[1]
    problems = []
    for tool in ("readelf", "nm"):
        if shutil.which(tool) is None:
            sys.exit(f"startup_deps: {tool} (binutils) is not installed")
    needed = needed_libraries(binary)
    for unwanted in SHARED_LIBRARIES_NOT_WANTED:
        problems += [f"{binary} loads {name} at start (link it statically: CMakeLists.txt, "
                     "TSK_STATIC_RUNTIME)" for name in needed if name.startswith(unwanted)]
    symbols = subprocess.run(["nm", binary], capture_output=True, text=True)
    if symbols.returncode == 0 and IOSTREAM_INIT in symbols.stdout:
        problems.append(f"{binary} contains std::ios_base::Init: a source file includes "
                        "<iostream> (the command writes through stdio; grammar/parser.y "
                        "keeps Bison's <iostream> out)")
    for problem in problems:
        print("startup_deps:", problem, file=sys.stderr)
    if not problems:
        print(f"startup_deps: {binary} loads {', '.join(needed)}; no iostreams initialiser")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

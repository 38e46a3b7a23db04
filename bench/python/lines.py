# Lines: count the lines and bytes of a 1,000,000-line file, a line at a time with
# `for line in f` (binary mode: a line is its bytes, newline included, as tsk counts).
import sys

lines = 0
size = 0
with open(sys.argv[1], "rb") as f:
    for line in f:
        lines += 1
        size += len(line)
print("lines", lines)
print("bytes", size)

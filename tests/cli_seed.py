#!/usr/bin/env python3
"""TSK_SEED replays select's choices, and rand's draws, through the `tsk` command
(SPEC §9, §12, §15).

Runs a select-heavy program with one worker thread: twice with the same seed (the same
choices, so the same output), once with another seed (other choices), and checks that a
malformed TSK_SEED is a usage error (exit 2). Usage: cli_seed.py PATH/TO/tsk
"""

import os
import subprocess
import sys

# Main and three tasks each pick 100 times between two always-ready channels; a task
# also selects between a send and a receive that a partner task makes ready in turn.
PROGRAM = r'''
import rand
fn picks(n) {
    let a = chan(n)
    let b = chan(n)
    for _ in 0..n {
        a <- "a"
        b <- "b"
    }
    var out = ""
    for _ in 0..n {
        select {
        case v = <-a { out = out + v }
        case v = <-b { out = out + v }
        }
    }
    return out
}
let tasks = []
for _ in 0..3 { push(tasks, spawn picks(100)) }
print(picks(100))
for t in tasks { print(await t) }
let ping = chan()
let pong = chan(100)
let partner = spawn {
    for i in 0..100 { ping <- i }
    close(ping)
}
var order = []
var open = true
while open {
    select {
    case v = <-ping { if v == nil { open = false } else { push(order, v % 2) } }
    case pong <- 1 { push(order, "s") }
    }
}
await partner
print(order)
# rand's generators start from the seed and the task's id when the runtime has a seed.
print(rand.int(0, 1000000000), await spawn rand.int(0, 1000000000), rand.float())
'''


def run(tsk, seed):
    env = dict(os.environ)
    env.pop("TSK_THREADS", None)
    if seed is not None:
        env["TSK_SEED"] = seed
    return subprocess.run([tsk, "--threads", "1", "-e", PROGRAM], env=env,
                          capture_output=True, timeout=60)


def main():
    tsk = sys.argv[1]
    failures = []
    first = run(tsk, "12345")
    if first.returncode != 0 or first.stderr:
        failures.append(f"seeded run failed: {first.returncode} {first.stderr!r}")
    again = run(tsk, "12345")
    if again.stdout != first.stdout:
        failures.append("the same TSK_SEED gave different choices")
    other = run(tsk, "54321")
    if other.returncode != 0 or other.stdout == first.stdout:
        failures.append("another TSK_SEED gave the same 400 choices")
    for bad in ["x", "-1", "18446744073709551616", ""]:
        status = run(tsk, bad).returncode
        if status != 2:
            failures.append(f"TSK_SEED={bad!r} gave exit {status}, not the usage error 2")
    for failure in failures:
        print("cli_seed:", failure, file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

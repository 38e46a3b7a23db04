#!/usr/bin/env python3
"""Generates random tsk programs that attack task isolation (SPEC §6, DESIGN decision 4).

Each program is self-checking. The generator keeps a model of every value it builds
(lists, maps, closures over variables, errors, channels, frozen parts, shared
substructure, cycles) and of every task's own copy of it, and writes into the program
what SPEC says must hold at each point: a value that crossed into another task equals
the sender's value at the moment it crossed; changing it either works on the task's own
copy — the sender's value stays as the sender's own model says (checked after the task
ends) — or raises FrozenError (frozen data) or OwnershipError (main's mutable top-level
bindings read from a task); `is_frozen` holds for everything reachable from a frozen
value; errors keep their identity across tasks. A failed check prints
`VIOLATION: c<N> [<task>] <what>`; the program's last line is `ok` or `VIOLATION: ...`.

Usage:
  gen.py --seed S --index I --out DIR   writes program I of seed S as DIR/main.tsk (and
                                        the modules it imports beside it)
  gen.py --seed S --count K --out DIR   writes programs 0..K-1 as DIR/S-I/main.tsk
A program depends only on S and I (random.Random seeded with the string "S-I"), so a
failure found with one seed is written again the same way. run.py runs them;
README.md describes both.
"""

import argparse
import os
import random

# {=== the model ------------------------------------------------------------------------
# A model node stands for one tsk object (or scalar) of one task. Frozen nodes are shared
# by every copy (they never change); everything else is copied when it crosses tasks,
# with aliasing inside one crossing value kept (the copy preserves repeated references
# and cycles, docs/architecture.md decision 15).


class Node:
    frozen = True

    def copy(self, memo):
        return self


class Scalar(Node):
    def __init__(self, src):
        self.src = src          # its tsk literal


class Err(Node):
    """One of the program's top-level errors `let E<n> = error(...)`."""

    def __init__(self, name, kind, msg):
        self.name, self.kind, self.msg = name, kind, msg


class Fn(Node):
    """A top-level function of the main script that captures nothing (immutable)."""

    def __init__(self, name, arg, result):
        self.name, self.arg, self.result = name, arg, result


class Chan(Node):
    def __init__(self, cap):
        self.cap = cap


class Mutable(Node):
    frozen = False

    def copy(self, memo):
        if self.frozen:
            return self
        if id(self) in memo:
            return memo[id(self)]
        c = self.__class__.__new__(self.__class__)
        memo[id(self)] = c
        c.__dict__.update(self.__dict__)
        c.fill_copy(memo)
        return c


class List(Mutable):
    def __init__(self, items):
        self.items = items

    def fill_copy(self, memo):
        self.items = [x.copy(memo) for x in self.items]

    def children(self):
        return list(self.items)


class Map(Mutable):
    def __init__(self, entries):
        self.entries = entries  # dict: str key -> node, in insertion order

    def fill_copy(self, memo):
        self.entries = {k: v.copy(memo) for k, v in self.entries.items()}

    def children(self):
        return list(self.entries.values())


class Cell(Mutable):
    """A variable captured by closures; `var` is its name in the declaring code and
    `decl` (frame, block) where that code is (both None when it came from __box or is
    a copy in another task)."""

    def __init__(self, value, var=None, decl=None):
        self.value, self.var, self.decl = value, var, decl

    def fill_copy(self, memo):
        self.value = self.value.copy(memo)
        self.var = self.decl = None  # the copy is not the declaring code's variable

    def children(self):
        return [self.value]


class Getter(Mutable):
    def __init__(self, cell):
        self.cell = cell

    def fill_copy(self, memo):
        self.cell = self.cell.copy(memo)

    def children(self):
        return [self.cell]


class Setter(Getter):
    pass


def snapshot(node):
    """The receiving task's model of `node` when it crosses tasks."""
    return node.copy({})


def freeze(node):
    """freeze(v): deep, in place, through closures and their cells."""
    todo = [node]
    while todo:
        n = todo.pop()
        if isinstance(n, Mutable) and not n.frozen:
            n.frozen = True
            todo.extend(n.children())


def unfrozen_copy(node, memo=None):
    """copy(v) of a value without closures: deep, unfrozen, aliasing kept."""
    memo = {} if memo is None else memo
    if not isinstance(node, (List, Map)):
        return node
    if id(node) in memo:
        return memo[id(node)]
    if isinstance(node, List):
        c = List([])
        memo[id(node)] = c
        c.items = [unfrozen_copy(x, memo) for x in node.items]
    else:
        c = Map({})
        memo[id(node)] = c
        c.entries = {k: unfrozen_copy(x, memo) for k, x in node.entries.items()}
    return c


def has_cycle(node):
    """Whether a cycle is reachable from node (a back edge in a depth-first walk)."""
    state = {id(node): 1}   # id -> 1 on the current path, 2 done
    stack = [(node, iter(node.children()) if isinstance(node, Mutable) else iter(()))]
    while stack:
        n, it = stack[-1]
        child = next(it, None)
        if child is None:
            state[id(n)] = 2
            stack.pop()
        elif isinstance(child, Mutable):
            s = state.get(id(child))
            if s == 1:
                return True
            if s is None:
                state[id(child)] = 1
                stack.append((child, iter(child.children())))
    return False


def reachable(node):
    out, todo, seen = [], [node], set()
    while todo:
        n = todo.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        out.append(n)
        if isinstance(n, Mutable):
            todo.extend(n.children())
    return out


def literal(node, seen=()):
    """A tsk expression equal (==) to the node, or None (closures, cycles, channels)."""
    if isinstance(node, Scalar):
        return node.src
    if isinstance(node, Err):
        return node.name
    if id(node) in seen:
        return None
    seen = seen + (id(node),)
    if isinstance(node, List):
        parts = [literal(x, seen) for x in node.items]
        return None if None in parts else "[" + ", ".join(parts) + "]"
    if isinstance(node, Map):
        parts = [(k, literal(v, seen)) for k, v in node.entries.items()]
        if any(p is None for _, p in parts):
            return None
        return "{" + ", ".join(f"{k}: {p}" for k, p in parts) + "}"
    return None

# }===


def tsk_str(s):
    out = s.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("\n", "\\n")
    return f'"{out}"'


class Em:
    """Lines of code at an indentation; a `slot` is a nested Em filled in later (the
    body of a task spawned before the value it checks has been sent)."""

    def __init__(self, indent=0):
        self.indent = indent
        self.items = []

    def __call__(self, line):
        self.items.append("    " * self.indent + line)

    def slot(self, extra=0):
        sub = Em(self.indent + extra)
        self.items.append(sub)
        return sub

    def render(self):
        out = []
        for item in self.items:
            out.extend(item.render() if isinstance(item, Em) else [item])
        return out


class Ctx:
    """The code being generated for one function body or task: where its lines go, the
    task's name (for messages), whether it is top-level code (where `var` makes a global,
    not a captured variable), and its frame: a variable declared in a frame may be
    assigned directly only by code of the same frame (a spawn block is a new one)."""

    def __init__(self, em, task, top=False, frame=None, blocks=()):
        self.em, self.task, self.top = em, task, top
        self.frame = frame if frame is not None else object()
        self.blocks = blocks + (id(em),)   # the blocks whose variables are in scope

    def nested(self, em):
        """A block inside this code (if, scope, try): same task and frame."""
        return Ctx(em, self.task, self.top, self.frame, self.blocks)

    def can_assign(self, cell):
        """Whether this code may assign the captured variable by its name."""
        return cell.var is not None and cell.decl[0] is self.frame and cell.decl[1] in self.blocks


KEYS = ["a", "b", "c", "d", "k1", "k2", "k3", "name"]
KINDS = ["StopIteration", "Retry", "Custom", "Error", "Bad"]


# Constructs that trip a known, reported runtime bug: left out of generated programs
# unless asked for with --attack NAME, so that the suite stays green until it is fixed.
# Attacks on bugs found by this generator. Each is generated by default once its bug is
# fixed; a name in KNOWN_BUGS is left out unless --attack asks for it.
ATTACKS = {
    # Several tasks importing one module at once while its body waits (spawn + await):
    # the others get "ImportError: import cycle", or the body runs more than once
    # (rt::Runtime::import looks the module up outside module_mutex and never waits).
    "concurrent-import",
    # Freezing data with a cycle: reference counts never free a frozen cycle, so it
    # leaks (LeakSanitizer reports it; a loop freezing one per iteration grows).
    "frozen-cycle",
    # A task spawned by a module, still reading the module's variables when loading
    # ends: rt::Runtime::finish_import freezes and moves the globals and clears
    # Module::owner without the owner's collector lock or the sequence lock, while the
    # task reads them (data races ThreadSanitizer reports; GETG reads `owner` unlocked).
    "module-linger",
    # Importing a module while other tasks collect: vm::Task::collect walks
    # Runtime::modules (a std::map) without its lock while the import inserts into it
    # (a data race ThreadSanitizer reports).
    "import-while-collecting",
}

# None is open: all four were fixed (module loads wait for each other and follow each
# import chain; frozen cycles stay in their task's heap; a module's owner changes under
# its owner lock; collection walks no module table).
KNOWN_BUGS = set()


class Program:
    def __init__(self, seed, index, attack=()):
        self.attack = set(attack) | (ATTACKS - KNOWN_BUGS)
        self.rng = random.Random(f"{seed}-{index}")
        self.seed, self.index = seed, index
        self.counter = 0
        self.checks = 0
        self.head = Em()
        self.glob = Em()
        self.funcs = Em()
        self.main = Em(1)
        self.modules = {}   # file name -> text
        self.errors = []    # Err nodes
        self.in_module = False  # building a module's values: main's errors and fns are not visible
        self.fns = []       # Fn nodes

    # {=== helpers ----------------------------------------------------------------------

    def freezable(self, node):
        """Whether freezing node now stays clear of known bugs (see KNOWN_BUGS)."""
        return "frozen-cycle" in self.attack or not has_cycle(node)

    def name(self, prefix):
        self.counter += 1
        return f"{prefix}{self.counter}"

    def chance(self, p):
        return self.rng.random() < p

    def check(self, ctx, cond, what, got=None):
        """A check in the program: `cond` must hold, else it reports `what` (and str() of
        the expression `got`, when given). Main and modules each define `check`."""
        self.checks += 1
        msg = tsk_str(f"c{self.checks} [{ctx.task}] {what}" + (", got " if got else ""))
        ctx.em(f"check({cond}, {msg}{f' + str({got})' if got else ''})")

    def scalar(self):
        r = self.rng.random()
        if r < 0.45:
            return Scalar(str(self.rng.choice([0, 1, 2, 7, 42, -3, 1000, 1 << 40, -(1 << 33)])))
        if r < 0.75:
            return Scalar(tsk_str(self.rng.choice(["", "s", "tea", "a b", "x" * 20, "é"])))
        if r < 0.85:
            return Scalar(self.rng.choice(["0.5", "2.25", "-1.5", "1e+16"]))
        return Scalar(self.rng.choice(["true", "false"]))

    def error_node(self):
        if not self.errors or (len(self.errors) < 6 and self.chance(0.3)):
            n = len(self.errors) + 1
            e = Err(f"E{n}", self.rng.choice(KINDS), f"failure {n}")
            self.head(f"let {e.name} = error({tsk_str(e.msg)}, {tsk_str(e.kind)})")
            self.errors.append(e)
            return e
        return self.rng.choice(self.errors)

    def fn_node(self):
        if not self.fns or (len(self.fns) < 4 and self.chance(0.3)):
            n = len(self.fns) + 1
            k = self.rng.randint(1, 9)
            f = Fn(f"plus{n}_{k}", 5, str(5 + k))
            self.head(f"fn {f.name}(x) {{ return x + {k} }}")
            self.fns.append(f)
            return f
        return self.rng.choice(self.fns)

    # }===
    # {=== building values --------------------------------------------------------------

    def value(self, ctx, depth, pool, late):
        """Emits code building a random value; returns (expression, node). `pool` holds
        (name, node) of named parts of this root (shared substructure); `late` collects
        names to freeze once the root is built (freezing in place reaches the parent)."""
        rng = self.rng
        r = rng.random()
        if depth <= 0 or r < 0.2:
            s = self.scalar()
            return s.src, s
        if r < 0.26 and not self.in_module:
            e = self.error_node()
            return e.name, e
        if r < 0.29 and not self.in_module:
            f = self.fn_node()
            return f.name, f
        if r < 0.31:
            c = Chan(rng.randint(1, 4))
            return f"chan({c.cap})", c
        if r < 0.36 and pool:
            name, node = rng.choice(pool)          # shared substructure
            return name, node
        if r < 0.5:
            return self.box(ctx, depth, pool, late)
        if r < 0.78:
            parts = [self.value(ctx, depth - 1, pool, late) for _ in range(rng.randint(0, 4))]
            node = List([p[1] for p in parts])
            expr = "[" + ", ".join(p[0] for p in parts) + "]"
        else:
            keys = rng.sample(KEYS, rng.randint(0, 4))
            parts = [self.value(ctx, depth - 1, pool, late) for _ in keys]
            node = Map({k: p[1] for k, p in zip(keys, parts)})
            expr = "{" + ", ".join(f"{k}: {p[0]}" for k, p in zip(keys, parts)) + "}"
        if rng.random() < 0.12:
            freeze(node)
            expr = f"freeze({expr})"
        if rng.random() < 0.5:
            name = self.name("n")
            ctx.em(f"let {name} = {expr}")
            pool.append((name, node))
            if not node.frozen and rng.random() < 0.15:
                late.append((name, node))
            return name, node
        return expr, node

    def box(self, ctx, depth, pool, late):
        """A getter and a setter sharing one captured variable, in a map or a list."""
        inner_expr, inner = self.value(ctx, depth - 1, pool, late)
        g, s = self.name("get"), self.name("set")
        if ctx.top:
            # At top level a `var` is a global, not a captured variable: make real cells.
            b = self.name("bx")
            ctx.em(f"let {b} = __box({inner_expr})")
            cell = Cell(inner)
            ctx.em(f"let {g} = {b}[0]")
            ctx.em(f"let {s} = {b}[1]")
        else:
            c = self.name("cv")
            ctx.em(f"var {c} = {inner_expr}")
            cell = Cell(inner, c, (ctx.frame, id(ctx.em)))
            if self.chance(0.3):
                # Made by another closure: the variable is captured through two levels.
                ctx.em(f"let {g} = (fn() => fn() => {c})()")
            else:
                ctx.em(f"let {g} = fn() => {c}")
            ctx.em(f"let {s} = fn(x) {{ {c} = x }}")
        getter, setter = Getter(cell), Setter(cell)
        if self.chance(0.15):
            freeze(getter)
            ctx.em(f"freeze({g})")
        if self.chance(0.6):
            node = Map({"get": getter, "set": setter})
            expr = f"{{get: {g}, set: {s}}}"
        elif self.chance(0.7):
            node = List([getter, setter])
            expr = f"[{g}, {s}]"
        else:
            return g, getter
        return expr, node

    def root(self, ctx, depth=3, kind=None, decl="let", name=None):
        """A container built from parts, bound by `decl name = ...`: returns (name, node)."""
        pool, late = [], []
        name = name or self.name("v")
        kind = kind or self.rng.choice(["list", "list", "map", "box"])
        if kind == "box":
            expr, node = self.box(ctx, depth, pool, late)
            if isinstance(node, Getter):
                expr, node = f"[{expr}]", List([node])
        elif kind == "list":
            parts = [self.value(ctx, depth - 1, pool, late) for _ in range(self.rng.randint(1, 4))]
            node = List([p[1] for p in parts])
            expr = "[" + ", ".join(p[0] for p in parts) + "]"
        else:
            keys = self.rng.sample(KEYS, self.rng.randint(1, 4))
            parts = [self.value(ctx, depth - 1, pool, late) for _ in keys]
            node = Map({k: p[1] for k, p in zip(keys, parts)})
            expr = "{" + ", ".join(f"{k}: {p[0]}" for k, p in zip(keys, parts)) + "}"
        ctx.em(f"{decl} {name} = {expr}")
        # A cycle through a mutable part: a named list inside the root gets the root.
        lists = [(n, x) for n, x in pool if isinstance(x, List) and not x.frozen
                 and any(y is x for y in reachable(node))]
        if lists and self.chance(0.25) and ("frozen-cycle" in self.attack or not self.in_module):
            n, x = self.rng.choice(lists)
            ctx.em(f"push({n}, {name})")
            x.items.append(node)
        for n, x in late:
            if any(y is x for y in reachable(node)) and self.freezable(x):
                ctx.em(f"freeze({n})")
                freeze(x)
        if self.chance(0.15) and self.freezable(node):
            ctx.em(f"freeze({name})")
            freeze(node)
        return name, node

    # }===
    # {=== checking values --------------------------------------------------------------

    def paths(self, expr, node):
        """(expression, node) for every part of the value reachable from expr, each once,
        along the first path found (breadth first)."""
        out, seen, queue = [], set(), [(expr, node)]
        while queue:
            e, n = queue.pop(0)
            if not isinstance(n, (List, Map, Getter)) or id(n) in seen:
                out.append((e, n))
                continue
            seen.add(id(n))
            out.append((e, n))
            if isinstance(n, List):
                queue.extend((f"{e}[{i}]", x) for i, x in enumerate(n.items))
            elif isinstance(n, Map):
                for k, x in n.entries.items():
                    queue.append((f"{e}.{k}" if self.chance(0.7) else f'{e}["{k}"]', x))
            elif isinstance(n, Getter) and not isinstance(n, Setter):
                if id(n.cell) not in seen:
                    seen.add(id(n.cell))
                    queue.append((f"{e}()", n.cell.value))
        return out

    def expect(self, ctx, expr, node, what=""):
        """Checks that the value at `expr` is what `node` models, everywhere in it."""
        seen = set()
        for e, n in self.paths(expr, node):
            if isinstance(n, Mutable):
                if id(n) in seen:
                    continue
                seen.add(id(n))
            fz = "true" if n.frozen else "false"
            if isinstance(n, Scalar):
                cond = f"{e} == {n.src}"
            elif isinstance(n, Err):
                cond = f'{e} == {n.name} and {e}.kind == {tsk_str(n.kind)} and is_frozen({e})'
            elif isinstance(n, Fn):
                cond = f"{e}({n.arg}) == {n.result} and is_frozen({e})"
            elif isinstance(n, Chan):
                cond = f'type({e}) == "chan" and cap({e}) == {n.cap}'
            elif isinstance(n, List):
                cond = f'type({e}) == "list" and len({e}) == {len(n.items)} and is_frozen({e}) == {fz}'
            elif isinstance(n, Map):
                ks = "[" + ", ".join(tsk_str(k) for k in n.entries) + "]"
                cond = f'type({e}) == "map" and keys({e}) == {ks} and is_frozen({e}) == {fz}'
            else:
                cond = f'type({e}) == "fn" and is_frozen({e}) == {fz}'
            self.check(ctx, cond, f"{what} {e}")
        if node.frozen and self.chance(0.3):
            lit = literal(node)
            if lit is not None:
                self.check(ctx, f"{expr} == {lit}", f"{what} frozen {expr} equals its literal")

    def new_value(self, ctx):
        """A small new value to store: (expression, node)."""
        r = self.rng.random()
        if r < 0.5:
            s = self.scalar()
            return s.src, s
        if r < 0.75:
            n = self.rng.randint(0, 99)
            return f"[{n}]", List([Scalar(str(n))])
        if r < 0.88 or self.in_module:
            n = self.rng.randint(0, 99)
            node = Map({"k1": Scalar(str(n))})
            freeze(node)
            return f"freeze({{k1: {n}}})", node
        e = self.error_node()
        return e.name, e

    def mutate(self, ctx, roots, count):
        """Attempts `count` random changes to parts of the given roots [(expr, node)]:
        each must work (the model follows) or raise FrozenError if the part is frozen."""
        rng = self.rng
        for _ in range(count):
            targets = []
            for expr, node in roots:
                for e, n in self.paths(expr, node):
                    if isinstance(n, (List, Map, Setter, Err)):
                        targets.append((e, n))
                    if isinstance(n, (Getter, Setter)) and ctx.can_assign(n.cell):
                        targets.append((n.cell.var, n.cell))
            if not targets:
                return
            e, n = rng.choice(targets)
            val_expr, val = self.new_value(ctx)
            r = self.name("r")
            frozen = n.cell.frozen if isinstance(n, Setter) else n.frozen
            if isinstance(n, List):
                size = len(n.items)
                ops = ["push", "insert"] + (["set", "pop", "remove"] if size else [])
                op = rng.choice(ops)
                i = rng.randint(-size, size - 1) if size else 0
                code = {"push": f"push({e}, {val_expr})", "insert": f"insert({e}, 0, {val_expr})",
                        "set": f"{e}[{i}] = {val_expr}", "pop": f"pop({e})",
                        "remove": f"remove({e}, {i})"}[op]

                def apply(n=n, op=op, i=i, val=val):
                    if op == "push": n.items.append(val)
                    elif op == "insert": n.items.insert(0, val)
                    elif op == "set": n.items[i] = val
                    elif op == "pop": n.items.pop()
                    else: del n.items[i]
            elif isinstance(n, Map):
                if n.entries and rng.random() < 0.3:
                    k = rng.choice(list(n.entries))
                    code = f'delete({e}, "{k}")'

                    def apply(n=n, k=k):
                        del n.entries[k]
                else:
                    k = rng.choice(KEYS)
                    code = f"{e}.{k} = {val_expr}" if rng.random() < 0.6 else f'{e}["{k}"] = {val_expr}'

                    def apply(n=n, k=k, val=val):
                        n.entries[k] = val
            elif isinstance(n, Setter):
                code = f"{e}({val_expr})"

                def apply(n=n, val=val):
                    n.cell.value = val
            elif isinstance(n, Cell):
                code = f"{e} = {val_expr}"

                def apply(n=n, val=val):
                    n.value = val
            else:  # an error: immutable
                code = f'{e}.message = "changed"'
                ctx.em(f'var {r} = "ok"')
                ctx.em(f"try {{ {code} }} catch e {{ {r} = e.kind }}")
                self.check(ctx, f'{r} == "TypeError" or {r} == "FrozenError"',
                           f"{code} must fail", got=r)
                continue
            want = "FrozenError" if frozen else "ok"
            ctx.em(f'var {r} = "ok"')
            ctx.em(f"try {{ {code} }} catch e {{ {r} = e.kind }}")
            self.check(ctx, f'{r} == "{want}"', f"{code} expected {want}", got=r)
            if not frozen:
                apply()

    def mutate_every_part(self, ctx, roots):
        """One change attempted on every list, map and setter reachable from the roots:
        appends to lists, a new key in maps, setters last (what they replace is reached
        through getters, whose paths would change)."""
        targets = []
        for expr, node in roots:
            targets += [(e, n) for e, n in self.paths(expr, node) if isinstance(n, (List, Map, Setter))]
        # Setters last, the deepest (latest found, breadth first) first: a setter changes
        # what the paths through its getter lead to.
        targets = ([t for t in targets if not isinstance(t[1], Setter)]
                   + [t for t in targets if isinstance(t[1], Setter)][::-1])
        for e, n in targets:
            val_expr, val = self.new_value(ctx)
            r = self.name("r")
            if isinstance(n, List):
                code, frozen = f"push({e}, {val_expr})", n.frozen
                apply = lambda n=n, val=val: n.items.append(val)
            elif isinstance(n, Map):
                code, frozen = f"{e}.zz = {val_expr}", n.frozen
                apply = lambda n=n, val=val: n.entries.__setitem__("zz", val)
            else:
                code, frozen = f"{e}({val_expr})", n.cell.frozen
                apply = lambda n=n, val=val: setattr(n.cell, "value", val)
            want = "FrozenError" if frozen else "ok"
            ctx.em(f'var {r} = "ok"')
            ctx.em(f"try {{ {code} }} catch e {{ {r} = e.kind }}")
            self.check(ctx, f'{r} == "{want}"', f"{code} expected {want}", got=r)
            if not frozen:
                apply()

    def maybe_churn(self, ctx, p=0.3):
        if self.chance(p):
            ctx.em(f"churn({self.rng.choice([200, 1000, 3000])})")

    # }===
    # {=== scenario: a value crosses into other tasks ------------------------------------

    def function(self, prefix, params=()):
        """A new top-level function; returns (name, ctx of its body)."""
        name = self.name(prefix)
        self.funcs(f"fn {name}({', '.join(params)}) {{")
        body = self.funcs.slot(1)
        self.funcs("}")
        return name, Ctx(body, name)

    def receiver(self, ctx, roots, returns):
        """The code of a task that got copies of values: roots [(expr, node)] are its
        models. Checks them, changes them, maybe freezes part; returns the model of what
        it returns (None when it returns nothing)."""
        for e, n in roots:
            self.expect(ctx, e, n, "received")
        self.maybe_churn(ctx)
        if self.chance(0.4):
            self.mutate_every_part(ctx, roots)
        self.mutate(ctx, roots, self.rng.randint(1, 5))
        if self.chance(0.3):
            e, n = self.rng.choice(roots)
            parts = [(pe, pn) for pe, pn in self.paths(e, n)
                     if isinstance(pn, (List, Map, Getter)) and self.freezable(pn)]
            if parts:
                pe, pn = self.rng.choice(parts)
                ctx.em(f"freeze({pe})")
                freeze(pn)
                self.mutate(ctx, roots, 1)
        if self.chance(0.3):
            # copy() of what arrived is a private, unfrozen value.
            lits = [(pe, pn) for e, n in roots for pe, pn in self.paths(e, n)
                    if isinstance(pn, (List, Map)) and literal(pn) is not None]
            if lits:
                pe, pn = self.rng.choice(lits)
                cp = self.name("cp")
                ctx.em(f"let {cp} = copy({pe})")
                node = unfrozen_copy(pn)
                self.mutate(ctx, [(cp, node)], 2)
                self.expect(ctx, cp, node, "copy")
        for e, n in roots:
            self.expect(ctx, e, n, "after changes")
        if returns:
            e, n = self.rng.choice(roots)
            ctx.em(f"return {e}")
            return snapshot(n)
        return None

    def sc_transfer(self):
        fname, ctx = self.function("transfer")
        roots = [self.root(ctx) for _ in range(self.rng.randint(1, 2))]
        for name, node in roots:
            self.expect(ctx, name, node, "built")
        finish = []
        for _ in range(self.rng.randint(1, 3)):
            mech = self.rng.choice(["args", "block", "block", "chan", "select", "select_send",
                                    "for", "closure", "result"])
            finish.append(getattr(self, "cross_" + mech)(ctx, roots))
            self.mutate(ctx, roots, self.rng.randint(0, 3))
            self.maybe_churn(ctx)
            if self.chance(0.2):
                name, node = self.rng.choice(roots)
                if self.freezable(node):
                    ctx.em(f"freeze({name})")
                    freeze(node)
        self.rng.shuffle(finish)
        for f in finish:
            f()
            self.mutate(ctx, roots, self.rng.randint(0, 2))
        for name, node in roots:
            self.expect(ctx, name, node, "sender's own value after the tasks")
        self.main(f"{fname}()")

    def take_result(self, ctx, t, ret):
        """`await t` and check/change what it returned."""
        if ret is None:
            ctx.em(f"await {t}")
            return
        y = self.name("y")
        ctx.em(f"let {y} = await {t}")
        self.expect(ctx, y, ret, "awaited result")
        self.mutate(ctx, [(y, ret)], self.rng.randint(0, 3))
        self.expect(ctx, y, ret, "awaited result after changes")

    def cross_args(self, ctx, roots):
        params = [self.name("p") for _ in roots]
        w, wctx = self.function("worker", params)
        ret = self.receiver(wctx, list(zip(params, [snapshot(n) for _, n in roots])), self.chance(0.6))
        t = self.name("t")
        ctx.em(f"let {t} = spawn {w}({', '.join(n for n, _ in roots)})")
        return lambda: self.take_result(ctx, t, ret)

    def spawn_block(self, ctx, t):
        """`let t = spawn {` ... `}`: returns the ctx of the block (a new frame)."""
        ctx.em(f"let {t} = spawn {{")
        body = ctx.em.slot(1)
        ctx.em("}")
        return Ctx(body, f"{ctx.task}/{t}")

    def cross_block(self, ctx, roots):
        t = self.name("t")
        bctx = self.spawn_block(ctx, t)
        # A spawn block copies the variables it uses when it starts.
        ret = self.receiver(bctx, [(n, snapshot(x)) for n, x in roots], self.chance(0.6))
        return lambda: self.take_result(ctx, t, ret)

    def make_chan(self, ctx, cap):
        ch = self.name("ch")
        ctx.em(f"let {ch} = chan({cap if cap else ''})")
        return ch

    def cross_chan(self, ctx, roots):
        """Messages on one channel, received one by one by a task spawned before the
        first send; it may send its copies back on a buffered channel."""
        n = self.rng.randint(1, 3)
        ch = self.make_chan(ctx, self.rng.choice([0, 0, 1, 4]))
        back = self.make_chan(ctx, n) if self.chance(0.5) else None
        t = self.name("t")
        rctx = self.spawn_block(ctx, t) if self.chance(0.5) else None
        if rctx is None:
            params = [ch] + ([back] if back else [])
            w, rctx = self.function("receiver", params)
            ctx.em(f"let {t} = spawn {w}({', '.join(params)})")
        backs = []
        for i in range(n):
            name, node = self.rng.choice(roots)
            if self.chance(0.3):
                ctx.em(f"select {{ case {ch} <- {name} {{ }} }}")
            else:
                ctx.em(f"{ch} <- {name}")
            x = self.name("x")
            if self.chance(0.3):
                rctx.em(f"var {x} = nil")
                rctx.em(f"select {{ case m = <-{ch} {{ {x} = m }} }}")
            else:
                rctx.em(f"let {x} = <-{ch}")
            model = snapshot(node)
            self.expect(rctx, x, model, "message")
            self.mutate(rctx, [(x, model)], self.rng.randint(0, 3))
            if back and self.chance(0.7):
                rctx.em(f"{back} <- {x}")
                backs.append(snapshot(model))
                self.mutate(rctx, [(x, model)], self.rng.randint(0, 2))
            self.mutate(ctx, roots, self.rng.randint(0, 2))  # the sender goes on changing

        def finish():
            for model in backs:
                y = self.name("y")
                ctx.em(f"let {y} = <-{back}")
                self.expect(ctx, y, model, "sent back")
                self.mutate(ctx, [(y, model)], self.rng.randint(0, 2))
            ctx.em(f"await {t}")
        return finish

    def cross_for(self, ctx, roots):
        """`for x in ch` in the receiver, closed by the sender after its messages; the
        receiver knows each message by its position (FIFO)."""
        n = self.rng.randint(1, 3)
        ch = self.make_chan(ctx, self.rng.choice([0, 1, 3]))
        t = self.name("t")
        bctx = self.spawn_block(ctx, t)
        i = self.name("i")
        bctx.em(f"var {i} = 0")
        x = self.name("x")
        bctx.em(f"for {x} in {ch} {{")
        body = bctx.em.slot(1)
        bctx.em(f"    {i} += 1")
        bctx.em("}")
        bctx.em(f"return {i}")
        for k in range(n):
            name, node = self.rng.choice(roots)
            ctx.em(f"{ch} <- {name}")
            body(f"if {i} == {k} {{")
            kctx = bctx.nested(body.slot(1))
            body("}")
            model = snapshot(node)
            self.expect(kctx, x, model, f"message {k}")
            self.mutate(kctx, [(x, model)], self.rng.randint(0, 3))
            self.mutate(ctx, roots, self.rng.randint(0, 2))
        ctx.em(f"close({ch})")

        def finish():
            self.check(ctx, f"await {t} == {n}", f"the receiver got {n} messages")
        return finish

    def cross_select(self, ctx, roots):
        """Two channels, one message each, received by a select in a loop: whichever
        case runs checks its own message."""
        caps = [self.rng.choice([0, 1, 2]) for _ in range(2)]
        chs = [self.make_chan(ctx, c) for c in caps]
        t = self.name("t")
        bctx = self.spawn_block(ctx, t)
        bctx.em("for _ in 0..2 {")
        bctx.em("    select {")
        bodies = []
        for ch in chs:
            x = self.name("x")
            bctx.em(f"    case {x} = <-{ch} {{")
            bodies.append((x, bctx.nested(bctx.em.slot(2))))
            bctx.em("    }")
        bctx.em("    }")
        bctx.em("}")
        for ch, (x, cctx) in zip(chs, bodies):
            name, node = self.rng.choice(roots)
            ctx.em(f"{ch} <- {name}")
            model = snapshot(node)
            self.expect(cctx, x, model, f"selected from {ch}")
            self.mutate(cctx, [(x, model)], self.rng.randint(0, 2))
            self.mutate(ctx, roots, self.rng.randint(0, 2))
        return lambda: ctx.em(f"await {t}")

    def cross_select_send(self, ctx, roots):
        """A select sending one value on whichever of two channels is ready first; the
        receiver selects over both."""
        chs = [self.make_chan(ctx, self.rng.choice([0, 1])) for _ in range(2)]
        t = self.name("t")
        bctx = self.spawn_block(ctx, t)
        bctx.em("select {")
        name, node = self.rng.choice(roots)
        model = snapshot(node)
        for ch in chs:
            x = self.name("x")
            bctx.em(f"case {x} = <-{ch} {{")
            cctx = bctx.nested(bctx.em.slot(1))
            bctx.em("}")
            m = snapshot(model)
            self.expect(cctx, x, m, f"selected from {ch}")
            self.mutate(cctx, [(x, m)], self.rng.randint(0, 2))
        bctx.em("}")
        ctx.em("select {")
        for ch in chs:
            ctx.em(f"case {ch} <- {name} {{ }}")
        ctx.em("}")
        return lambda: ctx.em(f"await {t}")

    def cross_closure(self, ctx, roots):
        """spawn of a getter or setter found in a root: the task runs a copy of the
        closure, with its own copy of the captured variable (shared when frozen)."""
        fns = [(e, n) for name, node in roots for e, n in self.paths(name, node)
               if isinstance(n, Getter)]
        if not fns:
            return self.cross_block(ctx, roots)
        e, n = self.rng.choice(fns)
        t = self.name("t")
        if not isinstance(n, Setter):
            ctx.em(f"let {t} = spawn {e}()")
            ret = snapshot(n.cell.value)
            return lambda: self.take_result(ctx, t, ret)
        val_expr, _ = self.new_value(ctx)
        if not n.cell.frozen:
            ctx.em(f"let {t} = spawn {e}({val_expr})")   # changes the task's copy only
            return lambda: ctx.em(f"await {t}")
        # A frozen variable: the task fails with FrozenError, which fails the scope too.
        k, a = self.name("k"), self.name("a")
        ctx.em(f'var {k} = "ok"')
        ctx.em(f"var {a} = nil")
        ctx.em("try {")
        ctx.em("    scope {")
        ctx.em(f"        let {t} = spawn {e}({val_expr})")
        ctx.em(f"        try {{ await {t} }} catch e {{ {a} = e }}")
        ctx.em("    }")
        ctx.em(f"}} catch e {{ {k} = e.kind")
        self.check(ctx.nested(ctx.em), f"e == {a}", "the scope raises the error await raised")
        ctx.em("}")
        self.check(ctx, f'{k} == "FrozenError" and {a} != nil and {a}.kind == "FrozenError"',
                   f"spawn {e}(...) on a frozen variable", got=k)
        return lambda: None

    def cross_result(self, ctx, roots):
        """The other direction: a task builds a value, maybe sends it to this task and
        goes on changing it, and returns it; other tasks may await it too."""
        t = self.name("t")
        ch = self.make_chan(ctx, self.rng.choice([0, 1])) if self.chance(0.5) else None
        bctx = self.spawn_block(ctx, t)
        name, node = self.root(bctx)
        sent = None
        if ch:
            bctx.em(f"{ch} <- {name}")
            sent = (ch, snapshot(node))
            self.mutate(bctx, [(name, node)], self.rng.randint(1, 3))
        bctx.em(f"return {name}")
        ret = snapshot(node)
        others = []
        handle = t
        if self.chance(0.4):
            # The handle itself travels inside frozen data.
            handle = self.name("hs")
            ctx.em(f"let {handle} = freeze([{t}, {t}])")
            handle = f"{handle}[{self.rng.choice([0, 1])}]"
        for _ in range(self.rng.randint(0, 2)):
            # Another awaiter changes its own copy of the result.
            o = self.name("t")
            octx = self.spawn_block(ctx, o)
            z = self.name("z")
            octx.em(f"let {z} = await {handle}")
            m = snapshot(ret)
            self.expect(octx, z, m, "result awaited by another task")
            self.mutate(octx, [(z, m)], self.rng.randint(1, 3))
            others.append(o)
        if sent:
            y = self.name("y")
            ctx.em(f"let {y} = <-{sent[0]}")
            self.expect(ctx, y, sent[1], "received from the builder")
            self.mutate(ctx, [(y, sent[1])], self.rng.randint(0, 2))

        def finish():
            self.take_result(ctx, t, ret)
            for o in others:
                ctx.em(f"await {o}")
        return finish

    # }===
    # {=== scenario: errors crossing tasks ----------------------------------------------

    def caught(self, ctx, body_lines, awaited=None):
        """Runs body_lines inside `try { scope { ... } }`; returns the names of vars
        holding the error the scope raised and (if `awaited` names a task handle made in
        the body) the error `await` raised."""
        k, a = self.name("k"), self.name("a")
        ctx.em(f"var {k} = nil")
        ctx.em(f"var {a} = nil")
        ctx.em("try {")
        ctx.em("    scope {")
        for line in body_lines:
            ctx.em("        " + line)
        if awaited:
            ctx.em(f"        try {{ await {awaited} }} catch e {{ {a} = e }}")
        ctx.em("    }")
        ctx.em(f"}} catch e {{ {k} = e }}")
        return k, a

    def sc_errors(self):
        fname, ctx = self.function("errors")
        rng = self.rng
        E = self.error_node()
        others = [e for e in self.errors if e is not E]
        F = others[0] if others else None
        for _ in range(rng.randint(1, 3)):
            variant = rng.choice(["thrown", "fresh", "runtime", "frozen_box", "two", "relay", "key"])
            if variant == "thrown":
                # Thrown in a task: await and the scope raise the same error, equal to E.
                t = self.name("t")
                k, a = self.caught(ctx, [f"let {t} = spawn {{ throw {E.name} }}"], t)
                self.check(ctx, f"{k} == {E.name} and {a} == {E.name} and {k} == {a}",
                           "a thrown error keeps its identity through await and scope")
                self.check(ctx, f'{k} != nil and {k}.kind == {tsk_str(E.kind)} and {k}.message == {tsk_str(E.msg)}',
                           "kind and message of a thrown error")
                if F:
                    self.check(ctx, f"{k} != {F.name}", "distinct errors are not equal")
                m = self.name("m")
                ctx.em(f'let {m} = {{({E.name}): "mine"}}')
                self.check(ctx, f'{k} != nil and {m}[{k}] == "mine"', "an error from a task is a map key")
            elif variant == "fresh":
                # Made in a task, sent and thrown: both copies are the same error.
                t, ch = self.name("t"), self.make_chan(ctx, 1)
                kind = rng.choice(KINDS)
                k, a = self.caught(ctx, [
                    f"let {t} = spawn {{",
                    f'    let mine = error("made in a task", {tsk_str(kind)})',
                    f"    {ch} <- mine",
                    "    throw mine",
                    "}"], t)
                r = self.name("r")
                ctx.em(f"let {r} = <-{ch}")
                self.check(ctx, f"{r} == {k} and {r} == {a} and {r}.kind == {tsk_str(kind)}",
                           "an error sent and thrown is one error")
                self.check(ctx, f"{r} != {E.name}", "a new error is not an old one")
                m = self.name("m")
                ctx.em(f"let {m} = {{({r}): 1, ({E.name}): 2}}")
                self.check(ctx, f"{m}[{k}] == 1 and {m}[{E.name}] == 2 and len({m}) == 2",
                           "errors as map keys")
                u = self.name("t")
                ctx.em(f"let {u} = spawn {{ return [{m}[{r}], {m}[{E.name}], {r} == {k}] }}")
                self.check(ctx, f"await {u} == [1, 2, true]", "a map keyed by errors, copied to a task")
            elif variant == "runtime":
                # A runtime error caught in a task, sent, then thrown again.
                t, ch = self.name("t"), self.make_chan(ctx, 1)
                target = rng.choice(["push(fz, 1)", "fz[0] = 2", "fz.k = 1"])
                init = "freeze([1])" if "push" in target or "[0]" in target else "freeze({k: 0})"
                k, a = self.caught(ctx, [
                    f"let {t} = spawn {{",
                    f"    let fz = {init}",
                    f"    try {{ {target} }} catch e {{ {ch} <- e; throw e }}",
                    "}"], t)
                r = self.name("r")
                ctx.em(f"let {r} = <-{ch}")
                self.check(ctx, f'{r}.kind == "FrozenError" and {r} == {k} and {a} == {r}',
                           "a FrozenError caught, sent and rethrown keeps its identity")
            elif variant == "frozen_box":
                # Errors inside frozen data shared by tasks.
                fz = self.name("fz")
                other = F.name if F else E.name
                ctx.em(f"let {fz} = freeze([{E.name}, {{k: {other}}}])")
                t = self.name("t")
                k, a = self.caught(ctx, [f"let {t} = spawn {{ throw {fz}[1].k }}"], t)
                self.check(ctx, f"{k} == {other} and {a} == {fz}[1].k", "an error thrown out of frozen data")
                u = self.name("t")
                ctx.em(f"let {u} = spawn {{ return [{fz}[0] == {E.name}, is_frozen({fz}[1]), {fz}] }}")
                self.check(ctx, f"await {u} == [true, true, {fz}]", "frozen data with errors in a task")
            elif variant == "two" and F:
                # Two tasks fail: the scope raises one of them (the first), by identity.
                t1, t2 = self.name("t"), self.name("t")
                k, _ = self.caught(ctx, [f"let {t1} = spawn {{ throw {E.name} }}",
                                         f"let {t2} = spawn {{ throw {F.name} }}"])
                self.check(ctx, f"{k} == {E.name} or {k} == {F.name}", "the scope raises one of its failures")
            elif variant == "relay":
                # An error passed along a chain of tasks comes back as itself.
                chs = [self.make_chan(ctx, rng.choice([0, 1])) for _ in range(rng.randint(2, 4))]
                ts = []
                for src, dst in zip(chs, chs[1:]):
                    t = self.name("t")
                    ctx.em(f"let {t} = spawn {{ let x = <-{src}; {dst} <- x; return x == {E.name} }}")
                    ts.append(t)
                ctx.em(f"{chs[0]} <- {E.name}")
                r = self.name("r")
                ctx.em(f"let {r} = <-{chs[-1]}")
                self.check(ctx, f"{r} == {E.name} and {r}.message == {tsk_str(E.msg)}", "an error relayed by tasks")
                for t in ts:
                    self.check(ctx, f"await {t}", "each relaying task saw the same error")
            else:
                # A map keyed by an error and by frozen data, crossing as a message.
                ch = self.make_chan(ctx, rng.choice([0, 1]))
                m = self.name("m")
                ctx.em(f'let {m} = {{({E.name}): [1], (freeze([1, [2]])): "list", (freeze({{a: 1}})): "map"}}')
                t = self.name("t")
                bctx = self.spawn_block(ctx, t)
                x = self.name("x")
                bctx.em(f"let {x} = <-{ch}")
                self.check(bctx, f'{x}[{E.name}] == [1] and {x}[freeze([1, [2]])] == "list" and {x}[freeze({{a: 1}})] == "map"',
                           "lookups in a map that crossed, by error and frozen keys")
                self.check(bctx, f"is_frozen(keys({x})[1]) and is_frozen(keys({x})[2])", "keys stay frozen")
                bctx.em(f"push({x}[{E.name}], 2)")
                bctx.em(f"return {x}")
                ctx.em(f"{ch} <- {m}")
                ctx.em(f"push({m}[{E.name}], 3)")
                y = self.name("y")
                ctx.em(f"let {y} = await {t}")
                self.check(ctx, f"{y}[{E.name}] == [1, 2] and {m}[{E.name}] == [1, 3]", "each task changed its own copy")
            m = self.name("r")
            ctx.em(f'var {m} = "ok"')
            ctx.em(f'try {{ {E.name}.message = "changed" }} catch e {{ {m} = e.kind }}')
            self.check(ctx, f'{m} == "TypeError" or {m} == "FrozenError"', "an error cannot be changed", got=m)
        self.main(f"{fname}()")

    # }===
    # {=== scenario: main's top-level bindings read from tasks --------------------------

    def global_binding(self):
        """A new top-level binding of the main script and the functions that use it."""
        top = Ctx(self.glob, "main top level", top=True)
        g = self.name("G")
        is_var = self.chance(0.5)
        kind = self.rng.choice(["mutable", "frozen", "scalar", "box", "error", "fn"])
        decl = "var" if is_var else "let"
        if kind == "scalar":
            node = self.scalar()
            self.glob(f"{decl} {g} = {node.src}")
        elif kind == "error":
            node = self.error_node()
            self.glob(f"{decl} {g} = {node.name}")
        elif kind == "fn":
            node = self.fn_node()
            self.glob(f"{decl} {g} = {node.name}")
        else:
            _, node = self.root(top, 2, "box" if kind == "box" else None, decl, g)
            if kind == "frozen" and not node.frozen and self.freezable(node):
                self.glob(f"freeze({g})")
                freeze(node)
        self.funcs(f"fn read_{g}() {{ return {g} }}")
        self.funcs(f"let lambda_{g} = fn() => {g}")     # a function value reading it, too
        self.funcs(f"fn push_{g}(x) {{ push({g}, x) }}")
        if is_var:
            self.funcs(f"fn assign_{g}(x) {{ {g} = x }}")
        return {"name": g, "var": is_var, "node": node}

    def probe(self, ctx, b):
        """Code of another task reading binding b through functions."""
        g, node = b["name"], b["node"]
        r, k = self.name("r"), self.name("k")
        ctx.em(f"var {r} = nil")
        ctx.em(f'var {k} = "ok"')
        reader = self.rng.choice([f"read_{g}()", f"lambda_{g}()"])
        ctx.em(f"try {{ {r} = {reader} }} catch e {{ {k} = e.kind }}")
        if node.frozen:
            self.check(ctx, f'{k} == "ok"', f"{reader} of an immutable value", got=k)
            ctx.em(f'if {k} == "ok" {{')
            sub = ctx.nested(ctx.em.slot(1))
            model = snapshot(node)
            self.expect(sub, r, model, f"{g} read from a task")
            self.mutate(sub, [(r, model)], self.rng.randint(0, 2))
            ctx.em("}")
        else:
            self.check(ctx, f'{k} == "OwnershipError"', f"{reader} of a mutable value", got=k)
        if isinstance(node, List) or (self.chance(0.2) and not isinstance(node, (Map, Getter, Scalar, Chan))):
            want = ("FrozenError" if isinstance(node, List) else "TypeError") if node.frozen else "OwnershipError"
            k2 = self.name("k")
            ctx.em(f'var {k2} = "ok"')
            ctx.em(f"try {{ push_{g}(1) }} catch e {{ {k2} = e.kind }}")
            self.check(ctx, f'{k2} == "{want}"', f"push_{g}() from a task", got=k2)
        if b["var"] and self.chance(0.5):
            k3 = self.name("k")
            ctx.em(f'var {k3} = "ok"')
            ctx.em(f"try {{ assign_{g}(1) }} catch e {{ {k3} = e.kind }}")
            self.check(ctx, f'{k3} == "OwnershipError"', f"assign_{g}() from a task", got=k3)

    def sc_globals(self):
        fname, ctx = self.function("globals")
        bs = [self.global_binding() for _ in range(self.rng.randint(1, 4))]
        go, done = self.name("go"), self.name("done")
        w, wctx = self.function("probe", [go, done])
        i = self.name("i")
        wctx.em(f"for {i} in {go} {{")
        body = wctx.em.slot(1)
        wctx.em(f"    {done} <- true")
        wctx.em("}")
        ctx.em(f"let {go} = chan()")
        ctx.em(f"let {done} = chan()")
        t = self.name("t")
        ctx.em(f"let {t} = spawn {w}({go}, {done})")
        for phase in range(self.rng.randint(1, 3)):
            body(f"if {i} == {phase} {{")
            pctx = wctx.nested(body.slot(1))
            body("}")
            if self.chance(0.3):
                # A task of the task reads them: still not the main task.
                u = self.name("t")
                pctx.em(f"let {u} = spawn {{")
                inner = Ctx(pctx.em.slot(1), f"{pctx.task}/{u}")
                pctx.em("}")
                pctx.em(f"await {u}")
                pctx = inner
            for b in bs:
                self.probe(pctx, b)
            ctx.em(f"{go} <- {phase}")
            ctx.em(f"<-{done}")
            # A spawn block copies the bindings it uses, mutable or not.
            if self.chance(0.4):
                b = self.rng.choice(bs)
                u = self.name("t")
                bctx = self.spawn_block(ctx, u)
                model = snapshot(b["node"])
                self.expect(bctx, b["name"], model, "binding copied into a spawn block")
                self.mutate(bctx, [(b["name"], model)], self.rng.randint(1, 3))
                ctx.em(f"await {u}")
            # Main changes its bindings between phases.
            for b in bs:
                r = self.rng.random()
                if r < 0.3 and b["var"]:
                    name, node = self.root(ctx, 2)
                    ctx.em(f"{b['name']} = {name}")
                    b["node"] = node
                elif r < 0.45 and isinstance(b["node"], Mutable) and self.freezable(b["node"]):
                    ctx.em(f"freeze({b['name']})")
                    freeze(b["node"])
                elif r < 0.7:
                    self.mutate(ctx, [(b["name"], b["node"])], self.rng.randint(1, 2))
            for b in bs:
                self.expect(ctx, b["name"], b["node"], "main's binding")
        ctx.em(f"close({go})")
        ctx.em(f"await {t}")
        self.main(f"{fname}()")

    def sc_race(self):
        """Main reassigns a `var` binding over and over while tasks read it through a
        function: each read gives one of the values assigned (all immutable), or
        OwnershipError while a mutable one is there — never a torn or foreign value."""
        g = self.name("GR")
        cands = self.name("CANDS")
        items = ["1", '"two"', "[3, [4, 5]]", "{k: [6]}", "2.5", "nil"]
        if self.errors:
            items.append(self.errors[0].name)
        self.glob(f"let {cands} = freeze([{', '.join(items)}])")
        self.glob(f"var {g} = 1")
        self.funcs(f"fn read_{g}() {{ return {g} }}")
        fname, ctx = self.function("race")
        ts = []
        for _ in range(self.rng.randint(1, 3)):
            t = self.name("t")
            ts.append(t)
            bctx = self.spawn_block(ctx, t)
            n = self.rng.choice([100, 300])
            bctx.em(f"for j in 0..{n} {{")
            bctx.em("    var r = nil")
            bctx.em('    var k = "ok"')
            bctx.em(f"    try {{ r = read_{g}() }} catch e {{ k = e.kind }}")
            self.check(bctx.nested(bctx.em), f'(k == "ok" and r in {cands} and is_frozen(r)) or k == "OwnershipError"',
                       f"a racing read of {g}", got="[k, r]")
            bctx.em("    if j % 16 == 0 { yield() }")
            bctx.em("}")
        n = self.rng.choice([200, 400])
        ctx.em(f"for j in 0..{n} {{")
        ctx.em(f"    {g} = {cands}[j % {len(items)}]")
        ctx.em(f"    if j % 7 == 0 {{ {g} = [j] }}")
        ctx.em("    if j % 50 == 0 { churn(300) }")
        ctx.em("}")
        ctx.em(f"{g} = 1")
        for t in ts:
            ctx.em(f"await {t}")
        self.main(f"{fname}()")

    def sc_fanout(self):
        """Frozen data made, shared with several tasks and dropped, over and over: tasks
        keep some parts, drop others and collect meanwhile, so reference counts go up and
        down on every thread. Each part read must be what was frozen."""
        rng = self.rng
        fname, ctx = self.function("fanout")
        E = self.error_node()
        f = self.fn_node()
        n = rng.choice([20, 60, 150])
        nw = rng.randint(1, 3)
        w, wctx = self.function("fan_worker", ["inbox"])
        wctx.em("var kept = []")
        wctx.em("var n = 0")
        wctx.em("for v in inbox {")
        body = wctx.nested(wctx.em.slot(1))
        wctx.em("}")
        wctx.em("return kept")
        # The value of round i, and what a task checks in it.
        shape = rng.choice(["list", "map", "closure"])
        if shape == "list":
            make = f"freeze([i, [i, i + 1], {{k: [i]}}, {E.name}, {f.name}])"
            self.check(body, f"v[0] == n and v[1] == [n, n + 1] and v[2].k == [n] and v[3] == {E.name} and v[4]({f.arg}) == {f.result}",
                       "a frozen round value read in a task")
            self.check(body, "is_frozen(v) and is_frozen(v[1]) and is_frozen(v[2]) and is_frozen(v[2].k)",
                       "everything in a frozen value is frozen")
            part, part_expect = "v[1]", "[j, j + 1]"
        elif shape == "map":
            make = f"freeze({{(freeze([i])): [i], n: i, e: {E.name}}})"
            self.check(body, f"v[freeze([n])] == [n] and v.n == n and v.e == {E.name} and is_frozen(keys(v)[0])",
                       "a frozen map with frozen keys read in a task")
            part, part_expect = "v[freeze([n])]", "[j]"
        else:
            mk = self.name("mk_round")
            make = f"freeze({mk}(i))"
            self.funcs(f"fn {mk}(i) {{ var c = [i, [i]]; return {{get: fn() => c, set: fn(x) {{ c = x }}}} }}")
            self.check(body, "v.get() == [n, [n]] and is_frozen(v.get()[1]) and is_frozen(v.set)",
                       "a frozen closure's variable read in a task")
            body.em('var ks = "ok"')
            body.em("try { v.set(1) } catch e { ks = e.kind }")
            self.check(body, 'ks == "FrozenError"', "setting a frozen closure's variable", got="ks")
            part, part_expect = "v.get()[1]", "[j]"
        body.em('var k = "ok"')
        body.em(f"try {{ push({part}, 0) }} catch e {{ k = e.kind }}")
        self.check(body, 'k == "FrozenError"', "changing a shared frozen part", got="k")
        keep_every = rng.choice([1, 3, 7])
        body.em(f"if n % {keep_every} == 0 {{ push(kept, {part}) }}")
        body.em("n += 1")
        body.em(f"if n % {rng.choice([5, 13])} == 0 {{ churn({rng.choice([100, 400])}) }}")
        cap = rng.choice([0, 1, 4])
        ctx.em(f"let inboxes = [{', '.join([f'chan({cap})' if cap else 'chan()'] * nw)}]")
        ctx.em("var tasks = []")
        ctx.em(f"for inbox in inboxes {{ push(tasks, spawn {w}(inbox)) }}")
        ctx.em(f"for i in 0..{n} {{")
        ctx.em(f"    let v = {make}")
        ctx.em("    for inbox in inboxes { inbox <- v }")
        if rng.random() < 0.5:
            ctx.em(f"    if i % 11 == 0 {{ churn(200) }}")
        ctx.em("}")
        if rng.random() < 0.5:
            # A task cancelled while it holds shared data: its heap goes, the data stays.
            ctx.em("let victim_inbox = chan(1)")
            ctx.em("let victim = spawn {")
            ctx.em("    var held = []")
            ctx.em("    for v in victim_inbox { push(held, v) }")
            ctx.em("}")
            ctx.em(f"for i in 0..{rng.randint(1, 5)} {{ victim_inbox <- {make} }}")
            ctx.em("cancel(victim)")
            ctx.em('var vk = "none"')
            ctx.em("try { await victim } catch e { vk = e.kind }")
            self.check(ctx, 'vk == "Cancelled"', "a cancelled task's await", got="vk")
        ctx.em("for inbox in inboxes { close(inbox) }")
        ctx.em("for t in tasks {")
        ctx.em("    let kept = await t")
        self.check(ctx.nested(ctx.em), f"len(kept) == {(n + keep_every - 1) // keep_every}", "parts kept by a task", got="len(kept)")
        ctx.em("    for idx, p in kept {")
        ctx.em(f"        let j = idx * {keep_every}")
        self.check(ctx.nested(ctx.em), f"p == {part_expect} and is_frozen(p)", "a kept frozen part, after the round's value was dropped")
        ctx.em("    }")
        ctx.em("}")
        self.main(f"{fname}()")

    def sc_deep(self):
        """A deeply nested or a wide value crossing tasks (the copy, freeze and the
        reference counts must not recurse on the C++ stack, nor lose a part)."""
        rng = self.rng
        fname, ctx = self.function("deep")
        frozen = rng.random() < 0.5
        if rng.random() < 0.5:
            depth = rng.choice([200, 1000, 5000])
            ctx.em("var leaf = [0]")
            ctx.em("var d = leaf")
            ctx.em(f"for i in 1..={depth} {{ d = [i, d] }}")
            walk = [
                "var node = x",
                "var depth = 0",
                "var good = true",
                "while len(node) == 2 and type(node[1]) == \"list\" {",
                f"    if node[0] != {depth} - depth or is_frozen(node) != {str(frozen).lower()} {{ good = false }}",
                "    node = node[1]",
                "    depth += 1",
                "}",
            ]
            done = f"good and depth == {depth}"
            leaf_of = "node"
        else:
            width = rng.choice([1000, 5000])
            ctx.em(f"var d = []")
            ctx.em(f"for i in 0..{width} {{ push(d, {{i: i, sq: [i * i]}}) }}")
            ctx.em("var leaf = d[-1].sq")
            walk = [
                "var good = true",
                "for i, m in x {",
                f"    if m.i != i or m.sq[0] != i * i or is_frozen(m.sq) != {str(frozen).lower()} {{ good = false }}",
                "}",
                "let node = x[-1].sq",
            ]
            done = f"good and len(x) == {width}"
            leaf_of = "node"
        if frozen:
            ctx.em("freeze(d)")
        ctx.em("let ch = chan(1)")
        ctx.em("let t = spawn {")
        ctx.em("    let x = <-ch")
        for line in walk:
            ctx.em("    " + line)
        self.check(ctx.nested(ctx.em), done, "a big value arrived whole")
        ctx.em('    var k = "ok"')
        ctx.em(f"    try {{ push({leaf_of}, 1) }} catch e {{ k = e.kind }}")
        self.check(ctx.nested(ctx.em), f'k == "{"FrozenError" if frozen else "ok"}"', "changing its deepest part", got="k")
        ctx.em("    churn(500)")
        ctx.em("    return x")
        ctx.em("}")
        ctx.em("ch <- d")
        ctx.em('var k = "ok"')
        ctx.em("try { push(leaf, 99) } catch e { k = e.kind }")
        ctx.em("let y = await t")
        if frozen:
            self.check(ctx, 'k == "FrozenError" and leaf == [0] or k == "FrozenError" and len(leaf) == 1',
                       "the frozen deepest part, unchanged", got="[k, leaf]")
        else:
            self.check(ctx, 'k == "ok" and leaf[-1] == 99', "the sender's own deepest part changed", got="[k, leaf]")
        ctx.em("let x = y")
        for line in walk:
            ctx.em(line)
        self.check(ctx, done, "the big value came back whole")
        want = "[0]" if frozen else "[0, 1]"
        if "depth" in done:
            self.check(ctx, f"node == {want}", "the task's deepest part, changed by it alone", got="node")
        else:
            self.check(ctx, f"len(node) == {1 if frozen else 2}", "the task's last part, changed by it alone", got="node")
        self.main(f"{fname}()")

    # }===
    # {=== scenario: file modules -------------------------------------------------------

    def sc_module(self):
        mod = f"m{len(self.modules) + 1}"
        mem = Em()
        mctx = Ctx(mem, f"module {mod}", top=True)
        self.in_module = True
        mem(f"# module {mod} of program {self.seed}-{self.index}: frozen when it finishes loading")
        mem(HELPERS_MODULE)
        exports = []
        for _ in range(self.rng.randint(1, 3)):
            exports.append(self.root(mctx, 3))
        internals = []
        for _ in range(self.rng.randint(1, 2)):
            name, node = self.root(mctx, 2, decl="var")
            internals.append((name, node))
            mem(f"fn read_{name}() {{ return {name} }}")
            mem(f"fn set_{name}(x) {{ {name} = x }}")
        mem(f'let ID = error("{mod} loaded", "ModuleId")')
        fresh_lit = "[1, {a: [2]}]"
        mem(f"fn fresh() {{ return {fresh_lit} }}")
        # A task spawned while loading copies a module variable and changes its copy.
        iname, inode = self.rng.choice(internals)
        t = self.name("mt")
        bctx = self.spawn_block(mctx, t)
        model = snapshot(inode)
        self.expect(bctx, iname, model, "module variable copied into a task")
        self.mutate(bctx, [(iname, model)], self.rng.randint(1, 3))
        bctx.em(f"return {iname}")
        res = self.name("res")
        mem(f"let {res} = await {t}")
        exports.append((res, snapshot(model)))
        # A task reading a module variable through a function while the module loads:
        # the variable belongs to the loading task.
        t2 = self.name("mt")
        mem(f"let {t2} = spawn {{ try {{ return read_{iname}() }} catch e {{ return e.kind }} }}")
        res2 = self.name("res")
        mem(f"let {res2} = await {t2}")
        if inode.frozen:
            self.expect(mctx, res2, snapshot(inode), "module variable read while loading")
        else:
            self.check(mctx, f'{res2} == "OwnershipError"', "a mutable module variable read while loading", got=res2)
        self.mutate(mctx, exports + internals, self.rng.randint(1, 4))
        # A task still running when loading ends: it reads the variable once it can.
        lname, lnode = self.rng.choice(internals)
        linger = self.chance(0.5) and "module-linger" in self.attack
        if linger:
            mem("let done = chan(1)")
            mem("spawn {")
            mem("    var out = nil")
            mem("    var tries = 0")
            mem("    while out == nil and tries < 200000 {")
            mem(f"        try {{ out = read_{lname}() }} catch e {{ tries += 1; yield() }}")
            mem("    }")
            mem("    done <- [out]")
            mem("}")
        self.mutate(mctx, exports + internals, self.rng.randint(0, 3))
        for name, node in exports + internals:
            self.expect(mctx, name, node, "module value at the end of loading")
        self.in_module = False
        for _, node in exports + internals:
            freeze(node)
        self.modules[f"{mod}.tsk"] = "\n".join(mem.render()) + "\n"

        # The importers: main and tasks, at once (main first unless the known bug of
        # concurrent imports is attacked, see KNOWN_BUGS).
        fname, ctx = self.function("modules")
        alias = self.name("mod")
        collector = None
        if "import-while-collecting" in self.attack:
            collector = self.name("t")
            ctx.em(f"let {collector}_stop = chan(1)")
            ctx.em(f"let {collector} = spawn {{")
            ctx.em("    while true {")
            ctx.em(f"        select {{ case <-{collector}_stop {{ return nil }} default {{ churn(100) }} }}")
            ctx.em("    }")
            ctx.em("}")
        if "concurrent-import" not in self.attack:
            ctx.em(f'import "{mod}.tsk" as {alias}')
        importers = []
        for _ in range(self.rng.randint(0, 3)):
            t = self.name("t")
            importers.append(t)
            bctx = self.spawn_block(ctx, t)
            q = self.name("q")
            bctx.em(f'import "{mod}.tsk" as {q}')
            self.module_checks(bctx, q, exports, internals)
            bctx.em(f"return {q}.ID")
        if "concurrent-import" in self.attack:
            ctx.em(f'import "{mod}.tsk" as {alias}')
        if collector:
            ctx.em(f"{collector}_stop <- 1")
            ctx.em(f"await {collector}")
        self.module_checks(ctx, alias, exports, internals)
        for t in importers:
            self.check(ctx, f"await {t} == {alias}.ID", "every importer saw the one module")
        if linger:
            got = self.name("got")
            ctx.em(f"let {got} = (<-{alias}.done)[0]")
            self.expect(ctx, got, lnode, "read by a task that outlived loading")
        self.main(f"{fname}()")

    def module_checks(self, ctx, alias, exports, internals):
        for name, node in exports:
            self.expect(ctx, f"{alias}.{name}", node, "module export")
        self.mutate(ctx, [(f"{alias}.{n}", x) for n, x in exports], self.rng.randint(1, 3))
        name, node = self.rng.choice(internals)
        self.expect(ctx, f"{alias}.read_{name}()", node, "module variable after loading")
        k = self.name("k")
        ctx.em(f'var {k} = "ok"')
        ctx.em(f"try {{ {alias}.set_{name}(1) }} catch e {{ {k} = e.kind }}")
        self.check(ctx, f'{k} == "FrozenError"', "assigning a module variable after loading", got=k)
        k = self.name("k")
        ctx.em(f'var {k} = "ok"')
        ctx.em(f"try {{ {alias}.{exports[0][0]} = 1 }} catch e {{ {k} = e.kind }}")
        self.check(ctx, f'{k} == "FrozenError"', "assigning a module export", got=k)
        f = self.name("f")
        ctx.em(f"let {f} = {alias}.fresh()")
        ctx.em(f"push({f}, 3)")
        ctx.em(f"push({f}[1].a, 4)")
        self.check(ctx, f"{f} == [1, {{a: [2, 4]}}, 3] and not is_frozen({f}) and {alias}.fresh() == [1, {{a: [2]}}]",
                   "a module function's new value is the caller's own")

    # }===
    # {=== the whole program ------------------------------------------------------------

    def generate(self):
        self.head(f"# Generated by tests/isolation/gen.py --seed {self.seed} --index {self.index}")
        self.head(HELPERS_MAIN)
        scenarios = []
        for _ in range(self.rng.randint(4, 8)):
            scenarios.append(self.rng.choice(["transfer"] * 6 + ["errors"] * 2 + ["globals"] * 2
                                             + ["race", "module", "fanout", "deep"]))
        if scenarios.count("module") > 2:
            scenarios = [s for s in scenarios if s != "module"] + ["module", "module"]
        for s in scenarios:
            getattr(self, "sc_" + s)()
        out = self.head.render() + [""] + self.glob.render() + [""] + self.funcs.render()
        out += ["", "scope {"] + self.main.render() + ["}", VERDICT]
        files = dict(self.modules)
        files["main.tsk"] = "\n".join(out) + "\n"
        return files

    # }===


HELPERS = """\
fn churn(n) {
    var keep = nil
    for i in 0..n { keep = [i, [i, i], {k: i}] }
    return keep
}
fn __box(v) {
    var c = v
    return [fn() => c, fn(x) { c = x }]
}"""

HELPERS_MAIN = """\
let REPORT = chan(64)
fn check(ok, what) {
    if not ok {
        print("VIOLATION: " + what)
        select {
        case REPORT <- what { }
        default { }
        }
    }
}
""" + HELPERS

HELPERS_MODULE = """\
fn check(ok, what) {
    if not ok { print("VIOLATION: " + what) }
}
""" + HELPERS

VERDICT = """\
var failures = 0
var first = ""
while true {
    select {
    case w = <-REPORT {
        failures += 1
        if failures == 1 { first = w }
    }
    default { break }
    }
}
if failures == 0 { print("ok") } else { print("VIOLATION: ${failures} checks failed; the first: ${first}") }"""


def write_program(seed, index, out, attack=()):
    """Writes program `index` of `seed` into the directory `out`; returns main.tsk's path."""
    os.makedirs(out, exist_ok=True)
    files = Program(seed, index, attack).generate()
    for name, text in files.items():
        with open(os.path.join(out, name), "w") as f:
            f.write(text)
    return os.path.join(out, "main.tsk")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", required=True)
    ap.add_argument("--index", type=int, help="write the one program of this index")
    ap.add_argument("--count", type=int, default=1, help="write programs 0..count-1")
    ap.add_argument("--out", required=True, help="the directory to write into")
    ap.add_argument("--attack", action="append", default=[], choices=sorted(ATTACKS),
                    help="also generate what trips this known bug")
    a = ap.parse_args()
    if a.index is not None:
        print(write_program(a.seed, a.index, a.out, a.attack))
    else:
        for i in range(a.count):
            print(write_program(a.seed, i, os.path.join(a.out, f"{a.seed}-{i}"), a.attack))


if __name__ == "__main__":
    main()

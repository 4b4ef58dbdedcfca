#!/usr/bin/env python3
"""tools/lint_calls.py - no two files in src/ call each other.

Finds, for every src/*.c, the library functions (shmring_*, shmring__*)
defined in the other files that it names outside comments, plus the calls
the inline headers make on its behalf (shmring__notify -> wait.c, byte
counters -> stats.c), and api.c's ENGINE() dispatch to the engines
(spsc.c, mpmc.c, overwrite.c, packed.c, broadcast.c).
Fails on a pair of files that call each other, or any longer cycle.
Prints the edges with -v. Ends with "lint-calls: N passed, M failed".
"""
import glob
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith('-') else '.'
VERBOSE = '-v' in sys.argv


def strip(text):
    text = re.sub(r'/\*.*?\*/', '', text, flags=re.S)
    return re.sub(r'//.*', '', text)


files = sorted(glob.glob(os.path.join(ROOT, 'src', '*.c')))
source = {os.path.basename(f): strip(open(f).read()) for f in files}
defined = {}
for name, text in source.items():
    for m in re.finditer(r'^[A-Za-z_][A-Za-z0-9_ *]*?\b(shmring_[a-z_0-9]+)\s*\([^;]*?\)\s*\{',
                         text, flags=re.M | re.S):
        defined[m.group(1)] = name
    for m in re.finditer(r'^void \(\*(shmring__[a-z_]+)\)', text, flags=re.M):
        defined[m.group(1)] = name
inline = {'shmring__notify': 'wait.c', 'shmring__spsc_publish': 'wait.c',
          'shmring__spsc_consume': 'wait.c', 'shmring__spsc_put': 'wait.c',
          'shmring__count_sent': 'stats.c', 'shmring__count_recv': 'stats.c'}
edges = set()
for name, text in source.items():
    for fn, where in list(defined.items()) + list(inline.items()):
        if where != name and where in source and re.search(r'\b' + fn + r'\b', text):
            edges.add((name, where))
    if re.search(r'\bENGINE\(', text):
        edges.update({(name, 'spsc.c'), (name, 'mpmc.c'), (name, 'overwrite.c'),
                      (name, 'packed.c'), (name, 'broadcast.c')})

graph = {}
for a, b in edges:
    graph.setdefault(a, set()).add(b)
fail = 0
for a, b in sorted(edges):
    if VERBOSE:
        print(f'  {a} -> {b}')
    if (b, a) in edges and a < b:
        print(f'lint-calls: {a} and {b} call each other', file=sys.stderr)
        fail += 1
# any longer cycle: depth-first search
state = {}


def visit(node, path):
    global fail
    state[node] = 1
    for nxt in sorted(graph.get(node, ())):
        if state.get(nxt) == 1 and len(path) > 1 and nxt in path[:-1]:
            cyc = path[path.index(nxt):] + [nxt]
            if len(cyc) > 3:
                print('lint-calls: cycle ' + ' -> '.join(cyc), file=sys.stderr)
                fail += 1
        elif nxt not in state:
            visit(nxt, path + [nxt])
    state[node] = 2


for n in sorted(source):
    if n not in state:
        visit(n, [n])
passed = len(source) if not fail else 0
print(f'lint-calls: {passed} passed, {fail} failed ({len(edges)} edges between {len(source)} files)')
sys.exit(1 if fail else 0)

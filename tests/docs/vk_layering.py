#!/usr/bin/env python3
"""No circle among the files of the Vulkan layer: a file that defines an
internal function (oa__vk_*) called from another file is "below" it, and
the relation must have no cycle, so that each file can be read knowing only
the files below it (support.c at the bottom).

usage: vk_layering.py lib/src/vk"""
import os
import re
import sys


def main():
    root = sys.argv[1]
    files = sorted(f for f in os.listdir(root) if f.endswith(".c"))
    text = {f: open(os.path.join(root, f), encoding="utf-8").read() for f in files}
    defined = {}
    for f in files:
        for name in re.findall(r"^[A-Za-z_][\w \*]*?\b(oa__vk_\w+)\(", text[f], re.M):
            defined.setdefault(name, f)
    calls = {f: set() for f in files}
    for f in files:
        for name, home in defined.items():
            if home != f and re.search(r"\b" + name + r"\(", text[f]):
                calls[f].add(home)
    state = {}

    def visit(f, path):
        state[f] = 1
        for g in sorted(calls[f]):
            if state.get(g) == 1:
                cycle = path[path.index(g):] + [g]
                print("circle among the Vulkan layer's files: " + " -> ".join(cycle))
                return False
            if state.get(g) is None and not visit(g, path + [g]):
                return False
        state[f] = 2
        return True

    for f in files:
        if state.get(f) is None and not visit(f, [f]):
            return 1
    print(f"{len(files)} files, {sum(len(c) for c in calls.values())} calls between them, no circle")
    return 0


if __name__ == "__main__":
    sys.exit(main())

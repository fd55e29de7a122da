#!/usr/bin/env python3
"""The README's Vulkan example is the code tests/vk/readme_snippet.c runs:
the lines between its SNIPPET BEGIN and SNIPPET END markers, less their
common indentation, must be one of the README's ```c blocks, byte for byte.

usage: readme_snippet.py README.md tests/vk/readme_snippet.c"""
import re
import sys


def main():
    readme, source = sys.argv[1], sys.argv[2]
    lines = open(source, encoding="utf-8").read().split("\n")
    try:
        begin = next(i for i, l in enumerate(lines) if "SNIPPET BEGIN" in l)
        end = next(i for i, l in enumerate(lines) if "SNIPPET END" in l)
    except StopIteration:
        print(f"{source}: no SNIPPET BEGIN / SNIPPET END markers")
        return 1
    body = lines[begin + 1:end]
    indent = min(len(l) - len(l.lstrip(" ")) for l in body if l.strip())
    snippet = "\n".join(l[indent:] for l in body).strip("\n")
    blocks = re.findall(r"^```c\n(.*?)^```", open(readme, encoding="utf-8").read(),
                        re.S | re.M)
    if any(b.strip("\n") == snippet for b in blocks):
        print(f"README.md shows {source}'s snippet as it is ({len(body)} lines)")
        return 0
    print(f"no ```c block of {readme} is the snippet of {source}; it should read:")
    print(snippet)
    return 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Checks that no folder uses a folder above it.

The layers are read from the ```layers block of docs/architecture.md, lowest first: a folder may
include headers from its own folder and from folders on earlier lines, never from its own line
or later ones. The folders that docs/architecture.md says "sit above everything" (tests/, fuzz/...)
count as one line above the last: no layered folder may use them. Two checks, both against that
one table:
  - every `#include "folder/..."` in every .hh/.cc under a layered folder;
  - every roster_* target a folder's CMakeLists.txt links, by the folder that defines it.
Prints every violation as file:line and exits 1 if there is one; exits 2 if the table is missing.

  tests/architecture/check_layers.py [ROOT]
"""

import os
import re
import sys


def read_layers(root):
    path = os.path.join(root, "docs", "architecture.md")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^```layers\n(.*?)^```", text, re.S | re.M)
    if not m:
        print(f"{path}: no ```layers block", file=sys.stderr)
        sys.exit(2)
    rank = {}
    for i, line in enumerate(l for l in m.group(1).splitlines() if l.strip()):
        for folder in line.split("#")[0].split():
            rank[folder] = i
    return rank, above_everything(text)


def above_everything(text):
    """The folders of the paragraph that ends in "sit above everything" (`tests/`, `fuzz/`...)."""
    m = re.search(r"(?:^|\n\n)((?:(?!\n\n).)*?)sit\s+above\s+everything", text, re.S)
    return sorted(set(re.findall(r"`([A-Za-z0-9_]+)/`", m.group(1)))) if m else []


INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"/]+)/[^"]+"')


def include_violations(root, rank, checked):
    out = []
    for folder in sorted(checked):
        for dirpath, _, files in os.walk(os.path.join(root, folder)):
            for name in sorted(files):
                if not name.endswith((".hh", ".cc", ".h", ".cpp")):
                    continue
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8") as f:
                    for n, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m or m.group(1) == folder or m.group(1) not in rank:
                            continue
                        if rank[m.group(1)] >= rank[folder]:
                            out.append(f"{os.path.relpath(path, root)}:{n}: {folder}/ includes "
                                       f"{m.group(1)}/, which is not below it")
    return out


TARGET_DEF = re.compile(r"(?:roster_library|add_library|add_executable)\(\s*(roster_[A-Za-z0-9_]+)")
TARGET_USE = re.compile(r"\broster_[A-Za-z0-9_]+\b")
NOT_LAYERED = {"roster_warnings"}


def target_violations(root, rank, checked):
    owner = {}
    texts = {}
    for folder in rank:
        path = os.path.join(root, folder, "CMakeLists.txt")
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            texts[folder] = f.read().splitlines()
        for line in texts[folder]:
            for t in TARGET_DEF.findall(line):
                owner[t] = folder
    out = []
    for folder, lines in sorted(texts.items()):
        if folder not in checked:
            continue
        for n, line in enumerate(lines, 1):
            code = line.split("#")[0]
            for t in TARGET_USE.findall(code):
                o = owner.get(t)
                if o is None or o == folder or t in NOT_LAYERED:
                    continue
                if rank[o] >= rank[folder]:
                    out.append(f"{folder}/CMakeLists.txt:{n}: {folder}/ links {t} of {o}/, which is not below it")
    return out


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))
    layered, above = read_layers(root)
    # Ranked as a line above the last: layered folders may not use them (they are not checked).
    top = max(layered.values(), default=-1) + 1
    rank = dict(layered, **{folder: top for folder in above if folder not in layered})
    problems = include_violations(root, rank, layered) + target_violations(root, rank, layered)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} layering violation(s); the layers are in docs/architecture.md")
        return 1
    print(f"layers respected: {len(layered)} folders, none uses {', '.join(f + '/' for f in above) or 'nothing'} above them")
    return 0


if __name__ == "__main__":
    sys.exit(main())

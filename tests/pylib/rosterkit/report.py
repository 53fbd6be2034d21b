"""Output of the benchmark drivers: markdown tables, milliseconds, the command line that made a
result, and JSON results written next to the driver (or to --out)."""

import json
import os
import sys

from .paths import ROOT


def command_line():
    """This program's command line, with its path relative to the repository."""
    return " ".join([os.path.relpath(os.path.abspath(sys.argv[0]), ROOT)] + sys.argv[1:])


def table(headers, rows):
    """A markdown table."""
    out = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)


def ms(seconds):
    """Seconds as milliseconds for a table: whole ms, or two decimals below 10 ms."""
    return f"{seconds * 1000:.0f}" if seconds >= 0.01 else f"{seconds * 1000:.2f}"


def save(path, data):
    """Writes data as indented JSON, creating the folder."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")

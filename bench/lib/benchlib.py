"""Shared pieces of the end-to-end benchmarks: statistics, tables, the machine, clusters."""

import datetime
import json
import os
import platform
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("ROSTER_BIN", os.path.join(ROOT, "build", "bin"))
os.environ.setdefault("ROSTER_BIN", BIN)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from roster_cluster import Cluster, free_ports, wait_for  # noqa: E402,F401


def percentile(values, p):
    """Nearest-rank percentile of a non-empty list (p in 0..100)."""
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def summary(values):
    """min / median / p90 / p99 / max of a list of numbers."""
    return {"n": len(values), "min": min(values), "median": percentile(values, 50), "p90": percentile(values, 90),
            "p99": percentile(values, 99), "max": max(values)}


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    disk = subprocess.run(["df", "-h", "--output=source,fstype,size", ROOT], capture_output=True, text=True).stdout
    return {"cores": os.cpu_count(), "cpu": model, "kernel": platform.release(),
            "disk": " ".join(disk.split()[3:]) if disk else "?",
            "date": datetime.date.today().isoformat()}


def command_line():
    return " ".join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])


def table(headers, rows):
    """A markdown table."""
    out = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)


def ms(x):
    return f"{x * 1000:.0f}" if x >= 0.01 else f"{x * 1000:.2f}"


def save(path, data):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")

"""What a benchmark ran on: cores, CPU model, memory, kernel, the disk of the repository, the
date, and the load average (a busy machine moves every latency; say so next to the figures)."""

import datetime
import os
import platform
import re
import subprocess

from .paths import ROOT


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def loadavg():
    """The 1, 5 and 15 minute load averages, as the strings /proc/loadavg shows."""
    return _read("/proc/loadavg").split()[:3]


def machine():
    model = re.search(r"^model name\s*:\s*(.*)$", _read("/proc/cpuinfo"), re.M)
    mem = re.search(r"^MemTotal:\s*(\d+)", _read("/proc/meminfo"), re.M)
    disk = subprocess.run(["df", "-h", "--output=source,fstype,size", ROOT], capture_output=True,
                          text=True).stdout
    return {"cores": os.cpu_count(), "cpu": model.group(1) if model else "?", "kernel": platform.release(),
            "mem_gib": round(int(mem.group(1)) / 2**20, 1) if mem else None,
            "disk": " ".join(disk.split()[3:]) if disk else "?",
            "date": datetime.date.today().isoformat(), "loadavg_start": loadavg()}

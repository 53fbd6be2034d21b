#!/usr/bin/python3
"""Prints the peers table (with the ratio to roster) from one or more results files of run.py,
e.g. when a run was split across invocations:

    /usr/bin/python3 bench/peers/table.py results-a.json results-b.json

The statistics are computed again from the samples in the files with the kit's percentile
(nearest rank), whatever definition the file was written with.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import markdown, row_samples  # noqa: E402  (run puts the kit, tests/pylib, on sys.path)
from rosterkit.stats import summary  # noqa: E402


def main():
    merged = {"detection": [], "failover": []}
    for path in sys.argv[1:]:
        r = json.load(open(path))
        print(f"- `{r['command']}` ({r['started']}, complete: {r.get('complete')})")
        for row in r["detection"] + r["failover"]:
            row["stats"] = summary(row_samples(row))
        merged["detection"] += r["detection"]
        merged["failover"] += r["failover"]
    print()
    print(markdown(merged))


if __name__ == "__main__":
    main()

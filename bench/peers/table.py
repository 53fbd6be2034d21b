#!/usr/bin/python3
"""Prints the peers table (with the ratio to roster) from one or more results files of run.py,
e.g. when a run was split across invocations:

    /usr/bin/python3 bench/peers/table.py results-a.json results-b.json
"""

import json
import sys

sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__)))
from run import markdown  # noqa: E402


def main():
    merged = {"detection": [], "failover": []}
    for path in sys.argv[1:]:
        r = json.load(open(path))
        print(f"- `{r['command']}` ({r['started']}, complete: {r.get('complete')})")
        merged["detection"] += r["detection"]
        merged["failover"] += r["failover"]
    print()
    print(markdown(merged))


if __name__ == "__main__":
    main()

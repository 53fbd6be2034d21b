#!/usr/bin/env python3
"""Checks one run directory of the chaos harness against roster's guarantees.

    python3 tests/chaos/check.py RUN_DIR          # the report, then the table per nemesis kind
    python3 tests/chaos/check.py RUN_DIR --json   # the same as one JSON object

Exit status: 0 when every guarantee held, 1 when there are violations (each printed with the
observer, view id, time from the run start and the nemesis step active then), 2 when RUN_DIR
cannot be read. What is checked, and how to read the table: docs/chaos.md.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checker import RunDirError, check  # noqa: E402
from checker.report import render  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description="Check a chaos run directory (docs/chaos.md).")
    ap.add_argument("run_dir", metavar="RUN_DIR")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    args = ap.parse_args(argv)
    try:
        result = check(args.run_dir)
    except RunDirError as e:
        print(f"check.py: {e}", file=sys.stderr)
        return 2
    if args.json:
        json.dump(result, sys.stdout, indent=1, sort_keys=False)
        sys.stdout.write("\n")
    else:
        print(render(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""What happened in a chaos run, in time order, for a human: nemesis steps (start, heal), workload
actions, every removal and join the views committed (first arrival at any observer, with the
member's name and the reason), consensus leader changes, observer sessions. It judges nothing
(tests/chaos/check.py does); it is the smoke reader of the harness and the first thing to read
when the checker reports a violation.

    /usr/bin/python3 tests/chaos/timeline.py RUN_DIR [--removals-only]
"""

import argparse
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checker.timeline import escape  # noqa: E402


def lines(path):
    if not os.path.exists(path):
        return []
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    ap.add_argument("--removals-only", action="store_true")
    args = ap.parse_args()
    d = args.run_dir
    with open(os.path.join(d, "run.json")) as f:
        run = json.load(f)
    t0 = (run.get("window") or {}).get("start") or run["start"]
    events = []  # (t, text)
    for s in lines(os.path.join(d, "schedule.jsonl")):
        events.append((s["start"], f"STEP {s['step']} {s['kind']}: {s.get('description', '')}"))
        events.append((s["end"], f"HEAL {s['step']} {s['kind']}"))
    if not args.removals_only:
        for w in lines(os.path.join(d, "workload.jsonl")):
            extra = f" ({w['code']})" if "code" in w else ""
            events.append((w["t"], f"  {w['node']} {w['action']}{extra}" + (f" by {w['by']}" if "by" in w else "")))
        prev = None
        for p in lines(os.path.join(d, "leaders.jsonl")):
            if p.get("role") == "leader":
                key = (p["term"], p["voter"])
                if key != prev:
                    events.append((p["t"], f"  leader {p['voter']} (term {p['term']})"))
                    prev = key
    # Committed changes: first arrival of (view, member) at any observer.
    first, names = {}, {}
    for path in sorted(glob.glob(os.path.join(d, "history", "*.jsonl"))):
        for h in lines(path):
            item = h.get("item")
            if not item or "members" not in item:
                if not args.removals_only and "session" in h and h["session"] > 1:
                    events.append((h["t"], f"  observer {h['observer']} session {h['session']}"))
                continue
            for m in item["members"]:
                names[m["id"]] = m["name"]
            for r in item.get("removed", []):
                k = ("removed", item["view_id"], r["id"], r["reason"])
                if k not in first or h["t"] < first[k]:
                    first[k] = h["t"]
            for j in item.get("joined", []):
                k = ("joined", item["view_id"], j, "")
                if k not in first or h["t"] < first[k]:
                    first[k] = h["t"]
    # When each node's process ran (workload.jsonl), and who was paused (schedule.jsonl): a removal
    # as "suspected" of a process that ran, unpaused, for the 10 s before is marked, for a human to
    # look at (the step's links decide whether it was false: that is check.py's job).
    runs, up_since = {}, {}
    for w in lines(os.path.join(d, "workload.jsonl")):
        if w["action"] == "start":
            up_since[w["node"]] = w["t"]
        elif w["action"] in ("exited", "kill") and w["node"] in up_since:
            runs.setdefault(w["node"], []).append((up_since.pop(w["node"]), w["t"]))
    for n, t in up_since.items():
        runs.setdefault(n, []).append((t, float("inf")))
    paused = [(s["start"], s["end"], set(s.get("paused", []))) for s in lines(os.path.join(d, "schedule.jsonl"))]

    def running(name, t):
        """Up for the 10 s before t (no exit in them), and not paused around then."""
        return any(a <= t and b > t and a <= t - 10 for a, b in runs.get(name, [])) and \
            not any(a - 10 <= t <= b + 1.0 and name in p for a, b, p in paused)

    for (what, view, mid, reason), t in first.items():
        if args.removals_only and what != "removed":
            continue
        name = names.get(mid, f"id{mid}")
        mark = "   <-- its process was running" if what == "removed" and reason == "suspected" and running(name, t) else ""
        events.append((t, f"    view {view}: {what} {name} (id {mid}){' ' + reason if reason else ''}{mark}"))
    for t, text in sorted(events):
        print(f"{t - t0:+9.2f}  {escape(text)}")  # names, descriptions: from the run directory
    return 0


if __name__ == "__main__":
    sys.exit(main())

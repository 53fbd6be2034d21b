"""The checker of chaos runs (docs/chaos.md, "What the checker checks").

    from checker import check
    result = check("/path/to/run")      # a JSON-able dict; result["ok"] is the verdict

Modules: rundir (reading the directory), timeline (the schedule over time), processes (the
workload), views (agreement, order, leader, fencing, events, durability), removals (false
removals, "left"), liveness (heal times), leadership (changes, time without a leader), report
(the text and the table).
"""

import os
import sys

from . import findings as F
from .leadership import (AIM, leaderless_findings, leaderless_periods, leadership_changes, view_gaps)
from .liveness import heal_times
from .processes import Processes
from .removals import check_removals
from .rundir import RunDirError, load
from .timeline import BETWEEN, Timeline, escape
from .views import ViewIndex

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "pylib"))
from rosterkit.stats import median  # noqa: E402

__all__ = ["check", "check_run", "RunDirError"]


def check(path):
    """Loads and checks RUN_DIR; raises RunDirError if it has no usable run.json."""
    return check_run(load(path))


def _attribute(run, timeline, f):
    """(the step a finding belongs to or None, whether the finding names it): the step it names,
    else the step active at its time."""
    named = run.step_numbered(f.details.get("step")) if isinstance(f.details, dict) else None
    if named is not None:
        return named, True
    return timeline.step_at(f.t), False


def _finding_dict(run, timeline, f):
    s, named = _attribute(run, timeline, f)
    return {"class": f.cls, "severity": f.severity, "t": f.t, "t_rel": run.rel(f.t),
            "observer": f.observer, "view_id": f.view_id, "node": f.node, "message": f.message,
            "step": s.step if s else None, "kind": s.kind if s else BETWEEN,
            "step_description": s.description if s else None,
            "where": f"step {s.step} {escape(s.kind)} ({escape(s.description)})" if named else timeline.describe(f.t),
            "details": f.details}


def check_run(run):
    timeline = Timeline(run)
    procs = Processes(run)
    index = ViewIndex(run, timeline)

    found = [F.warning(F.INPUT, None, f"{escape(file)}{f' line {line}' if line else ''}: {escape(msg)}")
             for file, line, msg in run.problems]
    found += index.findings
    found += index.check_agreement()
    found += index.check_order()
    found += index.check_leader()
    found += index.check_fencing()
    found += index.check_events()
    found += index.check_durability()
    removal_findings, removals = check_removals(run, timeline, index, procs)
    found += removal_findings
    heals, heal_findings = heal_times(run, timeline, index, procs)
    found += heal_findings
    changes, initial, election_findings = leadership_changes(run, timeline)
    found += election_findings
    periods = leaderless_periods(run, timeline)
    found += leaderless_findings(run, timeline, periods)
    gap = view_gaps(run, timeline, index)

    rank = {c: i for i, c in enumerate(F.VIOLATION_ORDER)}
    violations = [f for f in found if f.severity == F.VIOLATION]
    violations.sort(key=lambda f: (rank.get(f.cls, len(rank)), f.t if f.t is not None else float("inf")))
    warnings = [f for f in found if f.severity == F.WARNING]
    warnings.sort(key=lambda f: (f.cls, f.t if f.t is not None else float("inf")))
    vdicts = [_finding_dict(run, timeline, f) for f in violations]
    wdicts = [_finding_dict(run, timeline, f) for f in warnings]

    # --- per nemesis kind ---------------------------------------------------------------------
    kinds = []
    for k in list(run.meta.get("nemeses") or []) + [s.kind for s in timeline.steps]:
        if isinstance(k, str) and k not in kinds:
            kinds.append(k)
    kinds.append(BETWEEN)
    rows = {k: {"nemesis": k, "steps": 0, "views_checked": 0, "agreement_order": 0, "other_violations": 0,
                "false_removals": 0, "false_removals_starved": 0, "leadership_changes": 0,
                "longest_leaderless_s": None, "heal_median_s": None, "heal_max_s": None, "unhealed": 0,
                "_heals": []} for k in kinds}
    for s in timeline.steps:
        rows[s.kind]["steps"] += 1
    for o in index.obs:
        if o.kind == "history":
            rows[timeline.kind_at(o.t)]["views_checked"] += 1
    for d in vdicts:
        row = rows[d["kind"]]
        if d["class"] in (F.AGREEMENT, F.ORDER):
            row["agreement_order"] += 1
        elif d["class"] == F.FALSE_REMOVAL:
            row["false_removals"] += 1
        else:
            row["other_violations"] += 1
    for d in wdicts:
        if d["class"] == F.STARVED_REMOVAL:
            rows[d["kind"]]["false_removals_starved"] += 1
    for c in changes:
        rows[c["kind"]]["leadership_changes"] += 1
    for a, b in periods:
        row = rows[timeline.kind_at(a)]
        if row["longest_leaderless_s"] is None or b - a > row["longest_leaderless_s"]:
            row["longest_leaderless_s"] = b - a
    for h in heals:
        row = rows[h["kind"]]
        if h["heal_s"] is None:
            row["unhealed"] += 1
        else:
            row["_heals"].append(h["heal_s"])
    table = []
    for k in kinds:
        row = rows[k]
        hs = row.pop("_heals")
        if hs:
            row["heal_median_s"] = median(hs)
            row["heal_max_s"] = max(hs)
        if k == BETWEEN and not any(row[c] for c in ("views_checked", "agreement_order", "other_violations",
                                                       "false_removals", "false_removals_starved",
                                                       "leadership_changes", "longest_leaderless_s")):
            continue
        table.append(row)

    longest = max(periods, key=lambda p: p[1] - p[0]) if periods else None
    steps = []
    heal_of = {h["step"]: h for h in heals}
    for s in timeline.steps:
        h = heal_of.get(s.step, {})
        steps.append({"step": s.step, "kind": s.kind, "start_rel": run.rel(s.start), "end_rel": run.rel(s.end),
                      "description": s.description, "heal_s": h.get("heal_s"), "heal_judged": h.get("judged"),
                      "missing_at_bound": h.get("missing_at_bound", [])})
    return {
        "run_dir": run.path,
        "seed": run.meta.get("seed"),
        "start": run.start,
        "end": run.end,
        "duration_s": run.end - run.start,
        "voters": sorted(run.voters),
        "members": run.members,
        "heal_bound_s": run.heal_bound,
        "ok": not violations,
        "violations": vdicts,
        "warnings": wdicts,
        "steps": steps,
        "views": {"sightings": len(index.obs),
                  "deliveries": sum(1 for o in index.obs if o.kind == "history"),
                  "view_ids": len(index.by_id), "highest": max(index.by_id) if index.by_id else None,
                  "observers": sorted(run.histories),
                  "longest_without_committed_view": (
                      None if gap is None else {"s": gap["s"], "from_view": gap["from_view"],
                                                "to_view": gap["to_view"], "start_rel": run.rel(gap["start"]),
                                                "end_rel": run.rel(gap["end"]),
                                                "where": timeline.describe(gap["start"])})},
        "removals": [dict(r, t_rel=run.rel(r["t"])) for r in removals],
        "leadership": {
            "initial": None if initial is None else dict(initial, t_rel=run.rel(initial["t"])),
            "changes": [dict(c, t_rel=run.rel(c["t"])) for c in changes],
            "longest_leaderless": (None if longest is None else
                                   {"s": longest[1] - longest[0], "start_rel": run.rel(longest[0]),
                                    "end_rel": run.rel(longest[1]), "where": timeline.describe(longest[0])}),
            "aim_s": AIM,
            "aim_met": longest is None or longest[1] - longest[0] < AIM,
        },
        "table": table,
    }

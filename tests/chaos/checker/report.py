"""The text report of a checked run (check.py without --json). Every string that came from the
run directory has been escaped by the checks; names shown here go through escape() again."""

from .findings import VIOLATION_ORDER
from .timeline import escape, fmt_rel

COLUMNS = [("nemesis", "nemesis"), ("steps", "steps"), ("views_checked", "views checked"),
           ("agreement_order", "agreement/order"), ("other_violations", "other violations"),
           ("false_removals", "false removals"), ("false_removals_starved", "false removals (starved)"),
           ("leadership_changes", "leadership changes"), ("longest_leaderless_s", "longest without leader"),
           ("heal_median_s", "heal median"), ("heal_max_s", "heal max")]


def _s(x, unhealed=0):
    if x is None:
        return "never" if unhealed else "–"
    return f"{x:.2f} s"


def table(result):
    lines = ["| " + " | ".join(h for _, h in COLUMNS) + " |",
             "| " + " | ".join("---" if k == "nemesis" else "---:" for k, _ in COLUMNS) + " |"]
    for row in result["table"]:
        cells = []
        for k, _ in COLUMNS:
            v = row[k]
            if k == "nemesis":
                cells.append(escape(v))
            elif k in ("longest_leaderless_s", "heal_median_s"):
                cells.append(_s(v))
            elif k == "heal_max_s":
                cell = _s(v, row["unhealed"])
                if row["unhealed"] and v is not None:
                    cell += f" ({row['unhealed']} never)"
                cells.append(cell)
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _finding_line(d):
    parts = [f"[{d['class']}]"]
    if d["t_rel"] is not None:
        parts.append(fmt_rel(d["t_rel"]))
    if d["observer"]:
        parts.append(f"at {escape(d['observer'])}")
    if d["view_id"] is not None:
        parts.append(f"view {d['view_id']}")
    head = " ".join(parts)
    return f"  {head}: {d['message']}\n      during {d['where']}"


def _listing(findings, order, limit):
    """The findings grouped by class (in `order`, then the rest), at most `limit` lines per class."""
    out = []
    classes = [c for c in order if any(d["class"] == c for d in findings)]
    classes += sorted({d["class"] for d in findings} - set(classes))
    for c in classes:
        group = [d for d in findings if d["class"] == c]
        out += [_finding_line(d) for d in group[:limit]]
        if len(group) > limit:
            out.append(f"  ... and {len(group) - limit} more [{c}] (check.py --json lists every one)")
    return out


def render(result, limit=25):
    out = []
    r = result
    out.append(f"chaos run {escape(r['run_dir'])}: seed {escape(r['seed'])}, {r['duration_s']:.1f} s, "
               f"voters {', '.join(escape(v) for v in r['voters'])}, {len(r['members'])} members, "
               f"{len(r['steps'])} steps, heal bound {r['heal_bound_s']:g} s")
    v = r["views"]
    out.append(f"views: {v['deliveries']} deliveries at {len(v['observers'])} observers, {v['view_ids']} view ids "
               f"(highest {v['highest']}), {v['sightings'] - v['deliveries']} final/before-restart states")
    rem = r["removals"]
    if rem:
        def count(reason, verdict=None):
            return sum(1 for x in rem if (reason is None and x["reason"] not in ("suspected", "left")
                                          or x["reason"] == reason) and verdict in (None, x["verdict"]))
        out.append(f"removals: {count('suspected')} suspected ({count('suspected', 'justified')} justified, "
                   f"{count('suspected', 'false')} false, {count('suspected', 'starved')} under CPU starvation, "
                   f"{count('suspected', 'unknown')} not judged), {count('left')} left "
                   f"({count('left', 'false')} without a leave), {count(None)} for other reasons")
    out.append("")
    out.append("steps (time from the run start; heal = from the step's end until every live member is in "
               "a delivered view):")
    for s in r["steps"]:
        heal = ("not healed" if s["heal_s"] is None else f"heal {s['heal_s']:.3f} s")
        if s["heal_judged"] is False:
            heal += " (not judged)"
        out.append(f"  {s['step']:>3} {fmt_rel(s['start_rel'])} .. {fmt_rel(s['end_rel'])}  {escape(s['kind'])}: "
                   f"{escape(s['description'])}  [{heal}]")
    out.append("")
    lead = r["leadership"]
    ch = lead["changes"]
    out.append(f"leadership: {len(ch)} change{'s' if len(ch) != 1 else ''} after the initial election")
    for c in ch:
        where = f"step {c['step']} {escape(c['kind'])}" if c["step"] is not None else "between steps"
        out.append(f"  {fmt_rel(c['t_rel'])} term {c['term']} leader voter {c['leader_voter_id']} ({where})")
    ll = lead["longest_leaderless"]
    if ll is None:
        out.append("  longest without a consensus leader while a majority of voters could talk: none")
    else:
        out.append(f"  longest without a consensus leader while a majority of voters could talk: {ll['s']:.3f} s "
                   f"from {fmt_rel(ll['start_rel'])}, during {ll['where']} (aim: under {lead['aim_s']:g} s, "
                   f"{'met' if lead['aim_met'] else 'MISSED'})")
    g = v["longest_without_committed_view"]
    if g is not None:
        out.append(f"  longest without a committed view while a majority could talk: {g['s']:.3f} s, between "
                   f"view {g['from_view']} and view {g['to_view']} (from {fmt_rel(g['start_rel'])}; quiet "
                   "times count too)")
    out.append("")
    viol = r["violations"]
    if viol:
        counts = {}
        for d in viol:
            counts[d["class"]] = counts.get(d["class"], 0) + 1
        summary = ", ".join(f"{counts[c]} {c}" for c in VIOLATION_ORDER if c in counts)
        out.append(f"VIOLATIONS ({len(viol)}: {summary}):")
        out += _listing(viol, VIOLATION_ORDER, limit)
        out.append("")
    if r["warnings"]:
        out.append(f"warnings ({len(r['warnings'])}):")
        out += _listing(r["warnings"], [], limit)
        out.append("")
    out.append(table(r))
    out.append("")
    out.append("result: " + ("PASS (every guarantee held)" if r["ok"] else f"FAIL ({len(viol)} violations)"))
    return "\n".join(out)

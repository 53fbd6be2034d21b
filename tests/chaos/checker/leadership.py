"""Consensus leadership from leaders.jsonl: changes, election safety, time without a leader, and
time without a committed view.

- A leadership change is a (term, leader_voter_id) pair that no voter had reported before
  (leader_voter_id 0 means "no leader known" and is not a pair). The first pair of the run is the
  initial election, not a change. Each change is attributed to the step active when it was first
  reported, or "between steps".
- Election safety: two different leaders reported for one term is a violation.
- A consensus leader exists at t when voter L's poll answer standing at t says role "leader" in
  term T, and the answers of a majority of voters (L included) name L as leader in term T. An
  answer stands for its voter until that voter's next line of leaders.jsonl, and for at most
  STALE seconds (a killed voter is not polled at all); an error line stands for nothing.
- The time without a leader is counted only while a majority of voters could talk to each other
  (timeline.py: none of them paused, killed or restarting, no cut between them either way), from
  the first moment a leader existed to the last poll.
- The time without a committed view is the longest gap between the first deliveries of two views
  that fell within the same stretch of "a majority could talk"; it includes quiet times in which
  nothing had to change, so it is a figure to read, never a violation.
"""

from .findings import ELECTION, LEADERLESS, violation, warning
from .rundir import _integer
from .timeline import BETWEEN, escape, fmt_rel

STALE = 1.0
AIM = 1.0


def _answer(p):
    if "error" in p or not _integer(p.get("term")) or not _integer(p.get("leader_voter_id")):
        return None
    return p


def leadership_changes(run, timeline):
    findings = []
    seen = {}
    leaders_of_term = {}
    for p in run.polls:
        a = _answer(p)
        if a is None or a["leader_voter_id"] == 0:
            continue
        pair = (a["term"], a["leader_voter_id"])
        if pair in seen:
            continue
        seen[pair] = p["t"]
        other = leaders_of_term.setdefault(a["term"], {})
        if other and a["leader_voter_id"] not in other:
            first_leader, first_t = next(iter(other.items()))
            findings.append(violation(
                ELECTION, p["t"], f"term {a['term']} has two leaders: voter {first_leader} (reported "
                f"{fmt_rel(run.rel(first_t))}) and voter {a['leader_voter_id']} (reported by "
                f"{escape(p['voter'])})", observer="leaders.jsonl", node=p["voter"]))
        other.setdefault(a["leader_voter_id"], p["t"])
    pairs = sorted(seen.items(), key=lambda kv: kv[1])
    changes = []
    for (term, leader), t in pairs[1:]:
        s = timeline.step_at(t)
        changes.append({"t": t, "term": term, "leader_voter_id": leader,
                        "step": s.step if s else None, "kind": s.kind if s else BETWEEN})
    initial = ({"t": pairs[0][1], "term": pairs[0][0][0], "leader_voter_id": pairs[0][0][1]} if pairs else None)
    return changes, initial, findings


def leaderless_periods(run, timeline):
    """Maximal periods without a consensus leader while a majority of voters could talk:
    [(start, end)], sorted by start."""
    polls = run.polls
    if not polls:
        return []
    # Each voter's lines, so that an answer's validity ends at the voter's next line.
    by_voter = {}
    for p in polls:
        by_voter.setdefault(p["voter"], []).append(p)
    stands = []   # (from, until, voter, answer)
    for voter, ps in by_voter.items():
        for i, p in enumerate(ps):
            a = _answer(p)
            if a is None:
                continue
            until = p["t"] + STALE
            if i + 1 < len(ps):
                until = min(until, ps[i + 1]["t"])
            stands.append((p["t"], until, voter, a))
    times = {p["t"] for p in polls} | {u for _, u, _, _ in stands}
    times |= set(timeline.change_points())
    last = polls[-1]["t"]
    times = sorted(t for t in times if t <= last)
    stands.sort(key=lambda x: x[0])

    active = {}   # voter -> (until, answer) standing now
    j = 0
    periods = []
    started = False
    cur = None
    for i, t in enumerate(times):
        while j < len(stands) and stands[j][0] <= t:
            fr, until, voter, a = stands[j]
            active[voter] = (until, a)
            j += 1
        standing = {v: a for v, (until, a) in active.items() if until > t}
        has_leader = False
        for v, a in standing.items():
            if a.get("role") == "leader" and run.voters.get(v) == a["leader_voter_id"]:
                n = sum(1 for b in standing.values()
                        if b["term"] == a["term"] and b["leader_voter_id"] == a["leader_voter_id"])
                if n >= run.majority:
                    has_leader = True
                    break
        if has_leader:
            started = True
        bad = started and not has_leader and timeline.majority_can_talk_at(t)
        if bad and cur is None:
            cur = t
        if not bad and cur is not None:
            periods.append((cur, t))
            cur = None
    if cur is not None and last > cur:
        periods.append((cur, last))
    return periods


def view_gaps(run, timeline, index):
    """The longest stretch between two first deliveries during which a majority could talk:
    {"s", "from_view", "to_view", "start", "end"} or None."""
    firsts = sorted((t, vid) for vid, (t, _) in index.first.items())
    best = None
    for (t0, v0), (t1, v1) in zip(firsts, firsts[1:]):
        for a, b in timeline.talk_intervals(t0, t1):
            if best is None or b - a > best["s"]:
                best = {"s": b - a, "from_view": v0, "to_view": v1, "start": a, "end": b}
    return best


def leaderless_findings(run, timeline, periods):
    out = []
    for a, b in periods:
        if b - a > AIM:
            out.append(warning(LEADERLESS, a, f"no consensus leader for {b - a:.3f} s from {fmt_rel(run.rel(a))} "
                               f"while a majority of voters could talk (aim: under {AIM:g} s)",
                               observer="leaders.jsonl", details={"s": b - a}))
    return out

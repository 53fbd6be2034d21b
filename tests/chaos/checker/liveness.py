"""Liveness after heal: how long after each step's end every live member was back in the views.

For a step ending at T, the members that must come back are
  - every member live at T (processes.py), and
  - every voter not killed or paused in that step (a voter's own member entry carries its name);
a node drops out of the requirement at its next workload action after T (it was stopped,
killed or restarted: its new instance is not this step's business).

The heal time is the first moment t >= T from which on, until the bound (settings.heal_bound_s
after T), the next step's start or the run's end, whichever comes first, the newest view
delivered by any observer (the highest view id delivered at or before that moment) always holds
every node still required then; minus T. It is 0 when nothing was lost; a node removed after the
step's end (a late detection of a short fault) counts until it is back. Over the bound it is a
violation, unless the next step began (or the run ended) before the bound ran out and the views
had not healed by then (the next step may be the cause: a warning, "heal not judged").

At the end of the run the same holds for every voter's final state: it must hold every voter
and every member live at the end, except members whose last action is less than the heal bound
before the end (they may still be joining).
"""

from .findings import LIVENESS, NOT_JUDGED, INPUT, violation, warning
from .timeline import escape, fmt_rel
from .views import parse_view


def _names(xs):
    return ", ".join(escape(x) for x in sorted(xs))


def heal_times(run, timeline, index, procs):
    """Per step: {"step", "kind", "heal_s" (None: not healed by the end), "judged", "missing"},
    and the findings."""
    results = []
    findings = []
    steps = timeline.steps
    for i, s in enumerate(steps):
        T = s.end
        voters = {v for v in run.voters if v not in s.killed and v not in s.paused}
        members = {n for n in procs.nodes() if n not in run.voters and procs.live(n, T)}
        req0 = voters | members
        ends = {n: procs.next_action_after(n, T) if n not in run.voters else float("inf") for n in req0}
        candidates = sorted({T} | {t for t, _ in index.newest if T < t <= run.end}
                            | {e for e in ends.values() if e <= run.end})
        nxt = steps[i + 1].start if i + 1 < len(steps) else None
        bound_t = T + run.heal_bound
        horizon = min(bound_t, run.end, nxt if nxt is not None else run.end)

        def healed(c):
            vid = index.newest_at(c)
            return vid is not None and {n for n in req0 if ends[n] > c} <= index.names_in(vid)

        sat = [(c, healed(c)) for c in candidates]
        broken = [c for c, ok in sat if not ok and c <= horizon]
        if not broken:
            heal = 0.0
        else:
            heal = next((c - T for c, ok in sat if ok and c > broken[-1]), None)
        vid_at_bound = index.newest_at(bound_t)
        there = index.names_in(vid_at_bound) if vid_at_bound is not None else set()
        missing = sorted({n for n in req0 if ends[n] > bound_t} - there)
        judged = True
        if heal is None or heal > run.heal_bound:
            if nxt is not None and nxt < bound_t:
                judged = False
                findings.append(warning(
                    NOT_JUDGED, T, f"step {s.step} {escape(s.kind)}: the views had not healed when step "
                    f"{steps[i + 1].step} began {nxt - T:.3f} s after its end (bound {run.heal_bound:g} s)",
                    details={"step": s.step}))
            elif run.end < bound_t:
                judged = False
                findings.append(warning(
                    NOT_JUDGED, T, f"step {s.step} {escape(s.kind)}: the run ended {run.end - T:.3f} s after "
                    f"the step, before the views had healed (bound {run.heal_bound:g} s)", details={"step": s.step}))
            else:
                what = (f"took {heal:.3f} s" if heal is not None else "did not happen by the end of the run")
                findings.append(violation(
                    LIVENESS, bound_t, f"after step {s.step} {escape(s.kind)} ended ({fmt_rel(run.rel(T))}), the "
                    f"heal {what}, over the bound of {run.heal_bound:g} s; not in the newest view "
                    f"{vid_at_bound} at the bound: {_names(missing) or 'none'}",
                    view_id=vid_at_bound, details={"step": s.step, "heal_s": heal, "missing": missing}))
        results.append({"step": s.step, "kind": s.kind, "heal_s": heal, "judged": judged,
                        "missing_at_bound": missing})
    findings += final_liveness(run, procs)
    return results, findings


def final_liveness(run, procs):
    out = []
    if not run.finals:
        out.append(warning(INPUT, run.end, "no final/ states: the end of the run is not checked"))
        return out
    cutoff = run.end - run.heal_bound
    need = set(run.voters)
    for n in procs.nodes():
        if n in run.voters:
            continue
        last = procs.last_action(n, run.end)
        if last is not None and last[1] == "start" and last[0] <= cutoff:
            need.add(n)
    for voter in sorted(run.voters):
        state = run.finals.get(voter)
        if state is None:
            out.append(warning(INPUT, run.end, f"no final state of {escape(voter)}", node=voter))
            continue
        parsed = parse_view(state.get("members"))
        if parsed is None:
            continue   # views.py warns about it
        vid, members, _, _ = parsed
        missing = need - {m[1] for m in members}
        if missing:
            out.append(violation(
                LIVENESS, run.end, f"the final state of {escape(voter)} (view {vid}) lacks live "
                f"node{'s' if len(missing) > 1 else ''} {_names(missing)}", observer=f"final/{voter}",
                view_id=vid, node=voter, details={"missing": sorted(missing)}))
    return out

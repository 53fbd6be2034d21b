"""Removals: was each "suspected" removal justified, and was each "left" removal a real leave?

A removal's time is the earliest moment any observer delivered the view that removed it (if no
observer delivered that view: the first leaders.jsonl poll at which a voter reported that view
or a later one). The removed member id is mapped to its node by the views' "name" field; a
voter's own member entry carries the voter's name.

A "suspected" removal of node n at time r is justified when, at some moment of the window
[r - 10 s, r]:
  - n's own process was down: a step killed, paused or restarted n, or the workload acted on n
    (kill, leave, exited, or a new start), or n was not running when the window began;
  - n had packet loss (the step's "loss" names n);
  - a majority of the voters could not hear n, at the same time (within one step, since a step
    is constant): a voter v counts when the step cuts n -> v or v -> n (a one-way cut breaks the
    TCP connection both ways) or gives v itself loss. A voter never counts against its own
    entry, so a voter's entry needs a majority of the *other* voters.
Otherwise it is a false removal (a violation), unless a step with CPU starvation overlapped the
window: then it is reported in the "starved" column as a warning, not a violation.

A "left" removal of n needs a "leave" in workload.jsonl for n between its last start and the
removal (+0.5 s for the order of writes). Voters have no workload, so a voter never leaves.
"""

from .findings import FALSE_REMOVAL, LEFT, STARVED_REMOVAL, UNKNOWN, violation, warning
from .rundir import _integer
from .timeline import escape, fmt_rel

WINDOW = 10.0        # seconds before a removal in which a cause counts
LEAVE_SLACK = 0.5    # a leave line may be written just after the removal view arrives


class Justifier:
    def __init__(self, run, timeline, procs):
        self.run = run
        self.timeline = timeline
        self.procs = procs

    def process_down(self, n, a, b):
        """Why n's own process was down during [a, b], or None."""
        for s in self.timeline.overlapping(a, b):
            for what, nodes in (("killed", s.killed), ("paused", s.paused), ("restarted", s.restarted)):
                if n in nodes:
                    return f"{escape(n)} {what} in step {s.step} {escape(s.kind)}"
        if n in self.run.voters:
            return None
        if self.procs.last_start(n, b) is None:
            return f"workload.jsonl never started {escape(n)} (cannot judge)"
        # A start inside the window is no cause by itself: a fresh process that then ran throughout
        # is this instance; one that replaced a killed process shows the kill (here or before a).
        acts = [(t, act) for t, act in self.procs.actions_in(n, a, b) if act != "start"]
        if acts:
            t, act = acts[0]
            return f"workload {escape(act)} of {escape(n)} at {fmt_rel(self.run.rel(t))}"
        last = self.procs.last_action(n, a)
        if last is not None and last[1] != "start":
            return f"{escape(n)} was not running (last action {escape(last[1])} at {fmt_rel(self.run.rel(last[0]))})"
        return None

    def links_impaired(self, n, a, b):
        """Why n could not be heard by a majority of voters during [a, b] (or had loss), or None."""
        for s in self.timeline.overlapping(a, b):
            loss = s.loss_map
            if loss.get(n, 0) > 0:
                return f"{loss[n]:g}% loss on {escape(n)} in step {s.step} {escape(s.kind)}"
            deaf = [v for v in sorted(self.run.voters) if v != n and
                    ((n, v) in s.cut or (v, n) in s.cut or loss.get(v, 0) > 0)]
            if len(deaf) >= self.run.majority:
                return f"{escape(n)} cut from {', '.join(escape(v) for v in deaf)} in step {s.step} {escape(s.kind)}"
        return None

    def starved(self, a, b):
        for s in self.timeline.overlapping(a, b):
            if s.starved:
                return s
        return None


def removal_time(index, run, vid):
    if vid in index.first:
        return index.first[vid]
    for p in run.polls:
        if _integer(p.get("view_id")) and p["view_id"] >= vid:
            return p["t"], "leaders.jsonl"
    return None, None


def check_removals(run, timeline, index, procs):
    """Findings, and the list of removals with their verdicts (for the report)."""
    j = Justifier(run, timeline, procs)
    findings = []
    removals = []
    for vid in sorted(index.removals):
        for mid, reason in sorted(index.removals[vid].items(), key=lambda kv: str(kv[0])):
            t, src = removal_time(index, run, vid)
            name = index.name_of.get(mid)
            rec = {"view_id": vid, "member_id": mid, "node": name, "reason": reason, "t": t,
                   "verdict": None, "why": None}
            removals.append(rec)
            label = f"member {mid} {escape(name) if name is not None else '(name unknown)'} removed as " \
                    f"\"{escape(reason)}\" in view {vid}"
            if t is None or name is None:
                findings.append(warning(UNKNOWN, t, f"{label}: its {'time' if t is None else 'name'} is "
                                        "unknown, not judged", view_id=vid, observer=src))
                rec["verdict"] = "unknown"
                continue
            a = t - WINDOW
            if reason == "suspected":
                why = j.process_down(name, a, t) or j.links_impaired(name, a, t)
                if why:
                    rec["verdict"], rec["why"] = "justified", why
                    continue
                st = j.starved(a, t)
                if st is not None:
                    rec["verdict"] = "starved"
                    findings.append(warning(
                        STARVED_REMOVAL, t, f"{label} at {escape(src)}: its process ran and a majority of "
                        f"voters could hear it in the {WINDOW:g} s before, under CPU starvation (step "
                        f"{st.step})", observer=src, view_id=vid, node=name))
                    continue
                rec["verdict"] = "false"
                findings.append(violation(
                    FALSE_REMOVAL, t, f"{label} at {escape(src)}: in the {WINDOW:g} s before, its process was "
                    f"neither killed, paused nor stopped, it had no loss, and it was not cut from a majority of "
                    f"voters{_cuts_note(j, name, a, t)}", observer=src, view_id=vid, node=name))
            elif reason == "left":
                since = procs.last_start(name, t)
                ok = any(act == "leave" and (since is None or x >= since)
                         for x, act in procs.actions_in(name, float("-inf"), t + LEAVE_SLACK))
                rec["verdict"] = "left" if ok else "false"
                if not ok:
                    findings.append(violation(
                        LEFT, t, f"{label} at {escape(src)}, but the workload made {escape(name)} no leave "
                        f"since its last start", observer=src, view_id=vid, node=name))
            else:
                rec["verdict"] = "other"
    return findings, removals


def _cuts_note(j, n, a, b):
    """What the steps in the window did do to n's links, to show why it was not enough."""
    notes = []
    for s in j.timeline.overlapping(a, b):
        deaf = sorted(v for v in j.run.voters if v != n and ((n, v) in s.cut or (v, n) in s.cut))
        if deaf:
            notes.append(f"step {s.step} cut it from {', '.join(escape(v) for v in deaf)} only")
    return f" ({'; '.join(notes)})" if notes else ""

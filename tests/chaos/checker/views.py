"""Every view seen in the run, and the safety checks on them: agreement, order, leader, fencing
tokens, events, durability across a full restart.

A view is compared by its members (id, name, address, incarnation; sorted by id) and its leader
(id, name, fencing_token). "joined", "removed" and the members' keys are not part of the
comparison. Sources of views: every observer's history, every voter's final state, and every
voter's state before a full restart.
"""

import bisect
from dataclasses import dataclass

from .findings import (AGREEMENT, DURABILITY, EVENT, EVENT_BEFORE_VIEW, EVENT_WITHOUT_VIEW, FENCING,
                       INPUT, LEADER, ORDER, violation, warning)
from .rundir import _integer, _number
from .timeline import escape, fmt_rel


@dataclass
class Obs:
    """One sighting of a view."""
    source: str          # observer name, "final/v1" or "before_restart/3-v1"
    kind: str            # "history", "final" or "before"
    node: str | None
    t: float | None
    view_id: int
    members: tuple       # ((id, name, address, incarnation), ...) sorted by id
    leader: tuple | None  # (id, name, fencing_token)
    resync: bool
    session: object
    removed: tuple       # ((id, reason), ...)
    line: int | None

    @property
    def form(self):
        return (self.members, self.leader)


@dataclass
class Event:
    source: str
    node: str | None
    t: float
    session: object
    item: dict
    line: int | None


def _sort_key(x):
    return (0, x) if _integer(x) else (1, str(x))


def parse_view(item):
    """(view_id, members, leader, removed) of a view object, or None if it is not one."""
    if not isinstance(item, dict) or not _integer(item.get("view_id")) or not isinstance(item.get("members"), list):
        return None
    members = []
    for m in item["members"]:
        if not isinstance(m, dict):
            return None
        members.append((m.get("id"), m.get("name"), m.get("address"), m.get("incarnation")))
    members.sort(key=lambda m: _sort_key(m[0]))
    lead = item.get("leader")
    leader = (lead.get("id"), lead.get("name"), lead.get("fencing_token")) if isinstance(lead, dict) else None
    removed = []
    for r in item.get("removed") or []:
        if isinstance(r, dict):
            removed.append((r.get("id"), r.get("reason")))
    return item["view_id"], tuple(members), leader, tuple(removed)


def show_member(m):
    return f"{m[0]} {escape(m[1])} {escape(m[2])} incarnation {m[3]}"


def show_leader(lead):
    return "no leader" if lead is None else f"leader {lead[0]} {escape(lead[1])} token {lead[2]}"


def diff_forms(ref, other):
    """What differs between two forms, in words (other relative to ref)."""
    out = []
    rm = {m[0]: m for m in ref[0]}
    om = {m[0]: m for m in other[0]}
    for mid in sorted(set(rm) | set(om), key=_sort_key):
        a, b = rm.get(mid), om.get(mid)
        if a == b:
            continue
        if a is None:
            out.append(f"has member {show_member(b)} that the others lack")
        elif b is None:
            out.append(f"lacks member {show_member(a)}")
        else:
            out.append(f"has member {show_member(b)} where the others have {show_member(a)}")
    if ref[1] != other[1]:
        out.append(f"has {show_leader(other[1])} where the others have {show_leader(ref[1])}")
    return "; ".join(out)


class ViewIndex:
    """All sightings of views and events, and what they agree on."""

    def __init__(self, run, timeline):
        self.run = run
        self.timeline = timeline
        self.findings = []
        self.obs = []
        self.events = []
        self.sessions = {}   # (observer, session) -> [Obs or Event in file order]
        self._collect()
        self.by_id = {}
        for o in self.obs:
            self.by_id.setdefault(o.view_id, []).append(o)
        self.ref = {}        # view id -> the reference form (what most sources saw)
        self.first = {}      # view id -> (t, observer) of its first delivery at any observer
        for vid, obs in self.by_id.items():
            self.ref[vid] = self._reference(obs)
            delivered = [o for o in obs if o.kind == "history"]
            if delivered:
                f = min(delivered, key=lambda o: o.t)
                self.first[vid] = (f.t, f.source)
        self.name_of = {}    # member id -> name, from the reference forms
        for vid in sorted(self.ref):
            for m in self.ref[vid][0]:
                self.name_of.setdefault(m[0], m[1])
        self.removals = {}   # view id -> {member id: reason}
        for o in self.obs:
            for mid, reason in o.removed:
                self.removals.setdefault(o.view_id, {}).setdefault(mid, reason)
        # Deliveries in time order, with the highest view id delivered so far (for "the newest view
        # at time t").
        firsts = sorted((t, vid) for vid, (t, _) in self.first.items())
        self.newest = []
        best = None
        for t, vid in firsts:
            if best is None or vid > best:
                best = vid
            self.newest.append((t, best))
        self._newest_t = [t for t, _ in self.newest]

    # --- reading -----------------------------------------------------------------------------

    def _collect(self):
        run = self.run
        for observer, lines in sorted(run.histories.items()):
            session = 0
            src = f"history/{observer}.jsonl"
            for ln in lines:
                if "session" in ln and "item" not in ln:
                    session = ln["session"]
                    self.sessions.setdefault((observer, session), [])
                    continue
                item = ln.get("item")
                node = ln.get("node") if isinstance(ln.get("node"), str) else None
                if isinstance(item, dict) and "event" in item:
                    e = Event(observer, node, float(ln["t"]), session, item, ln["_line"])
                    self.events.append(e)
                    self.sessions.setdefault((observer, session), []).append(e)
                    continue
                parsed = parse_view(item)
                if parsed is None:
                    self.findings.append(warning(INPUT, ln["t"], f"{src} line {ln['_line']}: not a view or an "
                                                 "event (skipped)", observer=observer))
                    continue
                vid, members, leader, removed = parsed
                o = Obs(observer, "history", node, float(ln["t"]), vid, members, leader,
                        item.get("resync") is True, session, removed, ln["_line"])
                self.obs.append(o)
                self.sessions.setdefault((observer, session), []).append(o)
        for voter, state in sorted(run.finals.items()):
            self._state(f"final/{voter}", "final", voter, run.end, state)
        for (step, voter), state in sorted(run.before.items()):
            s = run.step_numbered(step)
            self._state(f"before_restart/{step}-{voter}", "before", voter, s.start if s else None, state)

    def _state(self, source, kind, voter, t, state):
        parsed = parse_view(state.get("members"))
        if parsed is None:
            self.findings.append(warning(INPUT, t, f"{source}: no view in \"members\" (not compared)",
                                         observer=source))
            return
        vid, members, leader, removed = parsed
        self.obs.append(Obs(source, kind, voter, t, vid, members, leader, False, None, removed, None))

    @staticmethod
    def _reference(obs):
        """The form seen by the most sources (ties: the one seen first)."""
        groups = {}
        for o in obs:
            g = groups.setdefault(o.form, {"sources": set(), "t": None})
            g["sources"].add(o.source)
            if o.t is not None and (g["t"] is None or o.t < g["t"]):
                g["t"] = o.t
        return max(groups, key=lambda f: (len(groups[f]["sources"]),
                                          -(groups[f]["t"] if groups[f]["t"] is not None else float("inf"))))

    def newest_at(self, t):
        """The highest view id delivered by any observer at or before t (None before the first)."""
        i = bisect.bisect_right(self._newest_t, t)
        return self.newest[i - 1][1] if i else None

    def names_in(self, vid):
        return {m[1] for m in self.ref[vid][0]} if vid in self.ref else set()

    def delivery_time(self, vid):
        return self.first[vid][0] if vid in self.first else None

    # --- checks ------------------------------------------------------------------------------

    def check_agreement(self):
        out = []
        for vid in sorted(self.by_id):
            obs = self.by_id[vid]
            ref = self.ref[vid]
            others = {}
            for o in obs:
                if o.form != ref:
                    others.setdefault(o.form, []).append(o)
            n_ref = len({o.source for o in obs if o.form == ref})
            for form, seen in others.items():
                seen.sort(key=lambda o: (o.t is None, o.t))
                first = seen[0]
                sources = sorted({o.source for o in seen})
                more = f" (also at {', '.join(escape(s) for s in sources[1:])})" if len(sources) > 1 else ""
                out.append(violation(
                    AGREEMENT, first.t,
                    f"view {vid} at {escape(first.source)}{more} {diff_forms(ref, form)} "
                    f"({n_ref} source{'s' if n_ref != 1 else ''} saw the other content)",
                    observer=first.source, view_id=vid, details={"sources": sources}))
        # A member id names one instance: the same name, address and incarnation in every view.
        seen = {}
        for vid in sorted(self.ref):
            for m in self.ref[vid][0]:
                if m[0] not in seen:
                    seen[m[0]] = (m, vid)
                elif seen[m[0]][0] != m:
                    m0, v0 = seen[m[0]]
                    t = self.delivery_time(vid)
                    src = self.first[vid][1] if vid in self.first else None
                    out.append(violation(
                        AGREEMENT, t, f"member id {m[0]} is {show_member(m0)} in view {v0} but "
                        f"{show_member(m)} in view {vid} (an id names one instance)",
                        observer=src, view_id=vid))
                    seen[m[0]] = (m, vid)
        return out

    def check_order(self):
        out = []
        for (observer, session), items in sorted(self.sessions.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
            prev = None
            for o in items:
                if not isinstance(o, Obs):
                    continue
                if prev is not None:
                    where = f"at {escape(observer)} (session {escape(session)}, line {o.line})"
                    if o.view_id <= prev.view_id:
                        out.append(violation(
                            ORDER, o.t, f"view {o.view_id} delivered after view {prev.view_id} {where}: "
                            "view ids must strictly increase", observer=observer, view_id=o.view_id))
                    elif o.view_id != prev.view_id + 1 and not o.resync:
                        missing = (f"{prev.view_id + 1}" if o.view_id == prev.view_id + 2
                                   else f"{prev.view_id + 1}..{o.view_id - 1}")
                        out.append(violation(
                            ORDER, o.t, f"gap: view {o.view_id} delivered after view {prev.view_id} {where} "
                            f"without \"resync\": true (missing {missing})", observer=observer, view_id=o.view_id))
                prev = o if prev is None or o.view_id > prev.view_id else prev
        return out

    def _at(self, vid):
        """(time, source) where view vid was first seen, for a finding about its content."""
        if vid in self.first:
            return self.first[vid]
        obs = [o for o in self.by_id.get(vid, []) if o.t is not None]
        if obs:
            o = min(obs, key=lambda o: o.t)
            return o.t, o.source
        return None, self.by_id[vid][0].source if vid in self.by_id else None

    def check_leader(self):
        out = []
        for vid in sorted(self.ref):
            members, leader = self.ref[vid]
            t, src = self._at(vid)
            if not members:
                if leader is not None:
                    out.append(violation(LEADER, t, f"view {vid} has no members but {show_leader(leader)}",
                                         observer=src, view_id=vid))
                continue
            low = min(members, key=lambda m: _sort_key(m[0]))
            if leader is None or leader[0] != low[0] or leader[1] != low[1]:
                out.append(violation(
                    LEADER, t, f"view {vid} has {show_leader(leader)}, but its lowest member id is "
                    f"{low[0]} {escape(low[1])}", observer=src, view_id=vid))
        return out

    def check_fencing(self):
        out = []
        prev = None          # (view id, leader) of the previous view with a leader
        token_of = {}        # leader id -> (token, view id where first seen)
        for vid in sorted(self.ref):
            leader = self.ref[vid][1]
            if leader is None:
                continue
            lid, lname, token = leader
            t, src = self._at(vid)
            if not _number(token):
                out.append(violation(FENCING, t, f"view {vid}: the leader has no fencing token",
                                     observer=src, view_id=vid))
                continue
            if token > vid:
                out.append(violation(FENCING, t, f"view {vid}: fencing token {token} is above the view id "
                                     "(it is the view at which the leader took over)", observer=src, view_id=vid))
            if prev is not None:
                pvid, (plid, _, ptoken) = prev
                if _number(ptoken) and token < ptoken:
                    out.append(violation(
                        FENCING, t, f"fencing token went down: {ptoken} in view {pvid}, {token} in view {vid}",
                        observer=src, view_id=vid))
                elif plid != lid and pvid == vid - 1 and token != vid:
                    out.append(violation(
                        FENCING, t, f"view {vid}: leader changed from member {plid} to {lid} {escape(lname)} "
                        f"but its fencing token is {token}, not {vid}", observer=src, view_id=vid))
            if lid in token_of and token_of[lid][0] != token:
                out.append(violation(
                    FENCING, t, f"leader {lid} {escape(lname)} has token {token_of[lid][0]} in view "
                    f"{token_of[lid][1]} but {token} in view {vid} (a leader keeps its token)",
                    observer=src, view_id=vid))
            token_of.setdefault(lid, (token, vid))
            prev = (vid, leader)
        return out

    def check_events(self):
        """removed/rejoined events: their content against the agreed views (violations), and their
        timing against the observer's own deliveries (warnings)."""
        out = []
        for e in self.events:
            item = e.item
            what = item.get("event")
            vid = item.get("view_id")
            old = item.get("member_id")
            new = item.get("new_member_id")
            where = f"at {escape(e.source)} (line {e.line})"
            if what not in ("removed", "rejoined") or not _integer(vid):
                out.append(warning(INPUT, e.t, f"event {escape(what)} {where} without a known kind or view id",
                                   observer=e.source))
                continue
            label = f"{what} event (member {old}{f' -> {new}' if what == 'rejoined' else ''}, view {vid}) {where}"
            problems = []
            if vid in self.ref:
                ids = {m[0] for m in self.ref[vid][0]}
                if old in ids:
                    problems.append(f"member {old} is still in view {vid}")
                if what == "rejoined" and new not in ids:
                    problems.append(f"member {new} is not in view {vid}")
            if what == "rejoined" and _integer(old) and _integer(new) and new <= old:
                problems.append("the new id is not above the old one (ids only grow)")
            for mid in (old, new) if what == "rejoined" else (old,):
                name = self.name_of.get(mid)
                if name is not None and e.node is not None and name != e.node:
                    problems.append(f"member {mid} is {escape(name)}, not the observer's node {escape(e.node)}")
            if problems:
                out.append(violation(EVENT, e.t, f"{label}: {'; '.join(problems)}", observer=e.source,
                                     view_id=vid))
            # Timing: has this session delivered the view (or a later one) by now?
            items = self.sessions.get((e.source, e.session), [])
            delivered_before = any(isinstance(o, Obs) and o.view_id >= vid and o.line < e.line for o in items)
            if delivered_before:
                continue
            later = [o for o in items if isinstance(o, Obs) and o.view_id >= vid and o.line > e.line]
            if later:
                o = later[0]
                out.append(warning(EVENT_BEFORE_VIEW, e.t, f"{label} came {o.t - e.t:.3f} s before the "
                                   f"observer delivered view {o.view_id}", observer=e.source, view_id=vid,
                                   details={"lag_s": o.t - e.t}))
            else:
                out.append(warning(EVENT_WITHOUT_VIEW, e.t, f"{label}: this session never delivered view "
                                   f"{vid} or a later one", observer=e.source, view_id=vid))
        return out

    def check_durability(self):
        """After a full restart: no view at or below the highest one committed before it changes,
        and no voter's view id goes back (its status polls after the step, its final state)."""
        out = []
        run = self.run
        reported = set()   # final states already reported as going back
        restart_steps = sorted({step for (step, _) in run.before})
        for step in restart_steps:
            s = run.step_numbered(step)
            if s is None:
                out.append(warning(INPUT, None, f"before_restart files name step {step}, which is not in "
                                   "schedule.jsonl (durability not checked for it)"))
                continue
            states = {o.node: o for o in self.obs
                      if o.kind == "before" and o.source.startswith(f"before_restart/{step}-")}
            if not states:
                continue
            high = max(o.view_id for o in states.values())
            # What each view id at or below `high` was before the restart (before_restart states and
            # every sighting before the step began).
            before = {}
            for o in self.obs:
                if o.view_id <= high and ((o.kind == "before" and o in states.values())
                                          or (o.kind == "history" and o.t < s.start)):
                    before.setdefault(o.view_id, {}).setdefault(o.form, o)
            for o in self.obs:
                if o.view_id > high or o.kind == "before" or (o.kind == "history" and o.t < s.start):
                    continue
                forms = before.get(o.view_id)
                if forms and o.form not in forms:
                    ref = next(iter(forms))
                    out.append(violation(
                        DURABILITY, o.t, f"view {o.view_id} at {escape(o.source)} after the full restart of "
                        f"step {step} {diff_forms(ref, o.form)} (before it: {escape(forms[ref].source)})",
                        observer=o.source, view_id=o.view_id))
            for voter, o in sorted(states.items()):
                mine = o.view_id
                for p in run.polls:
                    if p["voter"] == voter and p["t"] > s.end and _integer(p.get("view_id")) and p["view_id"] < mine:
                        out.append(violation(
                            DURABILITY, p["t"], f"{escape(voter)} reports view {p['view_id']} after the full "
                            f"restart of step {step}; it held view {mine} before it",
                            observer="leaders.jsonl", view_id=p["view_id"], node=voter))
                        break
            for fo in sorted((o for o in self.obs if o.kind == "final"), key=lambda o: o.source):
                if fo.view_id < high and fo.source not in reported:
                    reported.add(fo.source)
                    out.append(violation(
                        DURABILITY, fo.t, f"the final state of {escape(fo.node)} is view {fo.view_id}, below "
                        f"view {high} held before the full restart of step {step}", observer=fo.source,
                        view_id=fo.view_id, node=fo.node))
        # At the end, every voter holds at least the newest view any observer was given.
        if self.first:
            top = max(self.first)
            for fo in sorted((o for o in self.obs if o.kind == "final"), key=lambda o: o.source):
                if fo.view_id < top and fo.source not in reported:
                    out.append(violation(
                        DURABILITY, fo.t, f"the final state of {escape(fo.node)} is view {fo.view_id}, but view "
                        f"{top} was delivered at {escape(self.first[top][1])} "
                        f"({fmt_rel(run.rel(self.first[top][0]))})", observer=fo.source, view_id=fo.view_id,
                        node=fo.node))
        return out

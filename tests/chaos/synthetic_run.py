#!/usr/bin/env python3
"""Synthetic chaos run directories, in the harness's format (docs/chaos.md), for the checker's
tests and for trying check.py by hand:

    python3 tests/chaos/synthetic_run.py OUT_DIR     # writes realistic_run() there
    python3 tests/chaos/check.py OUT_DIR

SyntheticRun is a small model of a cluster: it commits views the way the membership state
machine does (ids only grow, the leader is the lowest id, its fencing token is the view at which
it took over), delivers them to observer sessions with a small lag (late after a blackout, as a
cut-off member catches up), and writes the polls of leaders.jsonl every 200 ms from a timeline
of (term, leader). Times are given in seconds from the run start. A test builds a run, calls
build() for the files as Python objects, changes what it wants to break, and writes them.
"""

import copy
import json
import os
import sys

T0 = 1733260000.0
POLL = 0.2


class SyntheticRun:
    def __init__(self, voters=3, members=("m1", "m2", "m3", "m4"), heal_bound=10.0, seed=7):
        self.t0 = T0
        self.voter_names = [f"v{i}" for i in range(1, voters + 1)]
        self.member_names = list(members)
        self.heal_bound = heal_bound
        self.seed = seed
        self.views = []          # [(absolute commit time, view dict)]
        self._members = {}       # id -> member dict
        self._next_id = 1
        self._incarnation = {}   # name -> last incarnation
        self._leader = None
        self._token = None
        self.steps = []
        self.workload = []
        self.sessions = []       # [observer, node, start, end]
        self.blackouts = []      # (observer, start, end): deliveries held until end
        self.items = []          # (observer, absolute t, item): events
        self.leadership = []     # (absolute t, term, leader voter id or None)
        self.down = []           # (voter, start, end, "killed" | "paused")
        self.snapshots = []      # (step, absolute t)

    def at(self, rel):
        return self.t0 + rel

    def address(self, name):
        if name in self.voter_names:
            return f"10.214.0.{10 + self.voter_names.index(name)}:7400"
        return f"10.214.0.{20 + self.member_names.index(name)}:7400"

    # --- the membership state machine ----------------------------------------------------------

    def commit(self, rel, join=(), remove=()):
        """A new view at rel: `join` names get new ids, `remove` is [(name, reason)]. Returns its id."""
        joined, removed = [], []
        for name, reason in remove:
            mid = next(i for i, m in self._members.items() if m["name"] == name)
            del self._members[mid]
            removed.append({"id": mid, "reason": reason})
        for name in join:
            inc = self._incarnation.get(name, 0) + 1
            self._incarnation[name] = inc
            mid = self._next_id
            self._next_id += 1
            self._members[mid] = {"id": mid, "name": name, "address": self.address(name), "incarnation": inc}
            joined.append(mid)
        vid = len(self.views) + 1
        low = min(self._members) if self._members else None
        if low != self._leader:
            self._leader, self._token = low, vid
        view = {"view_id": vid,
                "leader": (None if low is None else
                           {"id": low, "name": self._members[low]["name"], "fencing_token": self._token}),
                "members": [dict(self._members[i]) for i in sorted(self._members)],
                "joined": joined, "removed": removed}
        self.views.append((self.at(rel), view))
        return vid

    def view(self, vid):
        return copy.deepcopy(self.views[vid - 1][1])

    def view_at(self, t):
        best = None
        for tc, v in self.views:
            if tc <= t:
                best = v
        return best

    # --- what happens --------------------------------------------------------------------------

    def form(self, rel=0.5, term=2):
        self.lead(rel - 0.2, term, 1)
        return self.commit(rel, join=self.voter_names)

    def start(self, rel, name, join_after=0.1):
        self.workload.append({"t": self.at(rel), "node": name, "action": "start"})
        return self.commit(rel + join_after, join=[name])

    def leave(self, rel, name):
        self.workload.append({"t": self.at(rel), "node": name, "action": "leave"})
        vid = self.commit(rel + 0.1, remove=[(name, "left")])
        self.workload.append({"t": self.at(rel + 0.3), "node": name, "action": "exited"})
        return vid

    def crash(self, rel, name, detect=0.25):
        self.workload.append({"t": self.at(rel), "node": name, "action": "kill"})
        return self.commit(rel + detect, remove=[(name, "suspected")])

    def observe(self, observer, node, start, end=None):
        self.sessions.append([observer, node, self.at(start), None if end is None else self.at(end)])

    def blackout(self, observer, start, end):
        self.blackouts.append((observer, self.at(start), self.at(end)))

    def event(self, observer, rel, **item):
        self.items.append((observer, self.at(rel), item))

    def step(self, kind, start, end, description, **fields):
        n = len(self.steps) + 1
        s = {"step": n, "kind": kind, "start": self.at(start), "end": self.at(end), "description": description}
        s.update(fields)
        self.steps.append(s)
        return n

    def lead(self, rel, term, leader):
        """From rel on, the voters report `leader` (a voter id, or None) in `term`."""
        self.leadership.append((self.at(rel), term, leader))
        self.leadership.sort(key=lambda x: x[0])

    def voter_down(self, voter, start, end, how="killed"):
        self.down.append((voter, self.at(start), self.at(end), how))

    def snapshot_before_restart(self, step, rel):
        self.snapshots.append((step, self.at(rel)))

    # --- the files -------------------------------------------------------------------------------

    def _lag(self, observer):
        names = sorted({s[0] for s in self.sessions})
        return 0.004 + 0.002 * names.index(observer)

    def _history(self, observer, end):
        lines = []
        n = 0
        lag = self._lag(observer)
        for obs, node, s, e in self.sessions:
            if obs != observer:
                continue
            e = end if e is None else e
            n += 1
            lines.append({"t": s, "observer": obs, "node": node, "session": n})
            out = []
            first = self.view_at(s)
            if first is not None:
                out.append((s + lag, dict(first, resync=False)))
            for tc, v in self.views:
                if s < tc < e and (first is None or v["view_id"] > first["view_id"]):
                    t = tc + lag
                    for o, b0, b1 in self.blackouts:
                        if o == observer and b0 <= tc < b1:
                            t = b1 + lag + 0.0001 * v["view_id"]
                    out.append((t, dict(v, resync=False)))
            for o, t, item in self.items:
                if o == observer and s <= t < e:
                    out.append((t, dict(item)))
            out.sort(key=lambda x: x[0])
            lines += [{"t": t, "observer": obs, "node": node, "item": copy.deepcopy(item)} for t, item in out]
        return lines

    def _leader_at(self, t):
        cur = (None, None)
        for tl, term, leader in self.leadership:
            if tl <= t:
                cur = (term, leader)
        return cur

    def _polls(self, end):
        polls = []
        k = 1
        while self.t0 + k * POLL < end:
            for i, v in enumerate(self.voter_names):
                t = self.t0 + k * POLL + 0.01 * i
                how = next((h for (dv, a, b, h) in self.down if dv == v and a <= t < b), None)
                if how == "killed":
                    continue
                if how == "paused":
                    polls.append({"t": t, "voter": v, "error": "timeout"})
                    continue
                term, leader = self._leader_at(t)
                if term is None:
                    continue
                view = self.view_at(t)
                vid = view["view_id"] if view else 0
                polls.append({"t": t, "voter": v, "role": "leader" if leader == i + 1 else "follower",
                              "term": term, "leader_voter_id": leader or 0, "commit_index": 10 + vid,
                              "view_id": vid})
            k += 1
        return polls

    def _state(self, voter, t):
        view = self.view_at(t)
        term, leader = self._leader_at(t)
        i = self.voter_names.index(voter) + 1
        return {"status": {"name": voter, "role": "leader" if leader == i else "follower", "term": term,
                           "commit_index": 10 + view["view_id"], "view_id": view["view_id"], "voter_id": i,
                           "member_id": next((m["id"] for m in view["members"] if m["name"] == voter), 0),
                           "leader_voter_id": leader or 0},
                "members": copy.deepcopy(view)}

    def build(self, end_rel):
        """The run directory as {relative path: object (json) or list of objects (jsonl)}."""
        end = self.at(end_rel)
        observers = sorted({s[0] for s in self.sessions})
        nemeses = []
        for s in self.steps:
            if s["kind"] not in nemeses:
                nemeses.append(s["kind"])
        files = {
            "run.json": {"seed": self.seed, "minutes": round(end_rel / 60, 2), "start": self.t0, "end": end,
                         "nemeses": nemeses,
                         "voters": {v: {"voter_id": i + 1, "ip": self.address(v).split(":")[0]}
                                    for i, v in enumerate(self.voter_names)},
                         "members": {m: {"ip": self.address(m).split(":")[0]} for m in self.member_names},
                         "settings": {"heartbeat_interval_ms": 100, "heal_bound_s": self.heal_bound},
                         "planted_bug": None},
            "schedule.jsonl": copy.deepcopy(self.steps),
            "workload.jsonl": sorted(copy.deepcopy(self.workload), key=lambda a: a["t"]),
            "leaders.jsonl": self._polls(end),
        }
        for o in observers:
            files[f"history/{o}.jsonl"] = self._history(o, end)
        for v in self.voter_names:
            files[f"final/{v}.json"] = self._state(v, end)
        for step, t in self.snapshots:
            for v in self.voter_names:
                files[f"before_restart/{step}-{v}.json"] = self._state(v, t)
        return files


def write(files, path):
    os.makedirs(path, exist_ok=True)
    for rel, content in files.items():
        p = os.path.join(path, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            if rel.endswith(".jsonl"):
                for obj in content:
                    f.write(json.dumps(obj) + "\n")
            else:
                json.dump(content, f)
                f.write("\n")
    os.makedirs(os.path.join(path, "logs"), exist_ok=True)


def realistic_run():
    """Three voters, four members, two observers on members and one on a voter, five steps of
    different kinds, a graceful leave, a late start; every guarantee holds. Views:
      1 v1 v2 v3 (ids 1-3)      2-4 m1 m2 m3 join (ids 4-6)
      5 m3 removed (isolated)   6 m3 back as id 7
      7 v1 removed (killed)     8 v1 back as id 8 (the leader is v2 from view 7, token 7)
      9 m2 left                 10 m4 joins (id 9)"""
    r = SyntheticRun()
    r.observe("lib-v2", "v2", 0.4, 50.1)
    r.form(0.5)                                    # view 1; term 2, leader v1
    r.start(1.0, "m1")                             # view 2
    r.observe("ctl-m1", "m1", 1.15)
    r.start(1.2, "m2")                             # view 3
    r.start(1.4, "m3")                             # view 4
    r.observe("ctl-m3", "m3", 1.55)

    r.step("member-isolated", 5.0, 12.0, "m3 cut from v1, v2, v3 (both ways)",
           cut=[[a, b] for v in ("v1", "v2", "v3") for a, b in (("m3", v), (v, "m3"))])
    r.commit(5.3, remove=[("m3", "suspected")])    # view 5
    r.blackout("ctl-m3", 5.0, 12.0)                # m3 hears nothing until the heal
    r.event("ctl-m3", 12.06, event="removed", member_id=6, new_member_id=0, view_id=5)
    r.commit(12.3, join=["m3"])                    # view 6: m3 as id 7
    r.event("ctl-m3", 12.33, event="rejoined", member_id=6, new_member_id=7, view_id=6)

    r.step("kill-leader", 15.0, 20.0, "v1 (the consensus leader) killed", killed=["v1"])
    r.voter_down("v1", 15.0, 20.0)
    r.lead(15.0, 2, None)
    r.lead(15.4, 3, 2)
    r.commit(15.5, remove=[("v1", "suspected")])   # view 7: leader v2, token 7
    r.commit(20.4, join=["v1"])                    # view 8: v1 as id 8

    r.step("flapping-link", 25.0, 32.0, "v2 <-> v3 cut and restored every 0.5 s",
           cut=[["v2", "v3"], ["v3", "v2"]])
    r.step("member-one-voter", 35.0, 40.0, "m1 cut from v1 (both ways)", cut=[["m1", "v1"], ["v1", "m1"]])
    r.leave(45.0, "m2")                            # view 9
    r.start(47.0, "m4")                            # view 10

    st = r.step("full-restart", 50.0, 55.0, "every voter killed and restarted from its data directory",
                restarted=["v1", "v2", "v3"])
    r.snapshot_before_restart(st, 50.0)
    for v in r.voter_names:
        r.voter_down(v, 50.1, 54.0)
    r.lead(54.0, 3, None)
    r.lead(54.5, 4, 2)
    r.observe("lib-v2", "v2", 54.2)
    return r


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: synthetic_run.py OUT_DIR")
    write(realistic_run().build(60.0), sys.argv[1])
    print(f"wrote a synthetic run to {sys.argv[1]}")

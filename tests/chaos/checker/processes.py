"""What each member process was doing, from workload.jsonl (and the nemesis's kills of members).

A member is *live* at t when its last action at or before t is "start": "leave" (SIGTERM),
"exited" and "kill" end it, and so does a nemesis step that lists it in "killed" (from the
step's start until the workload starts it again). Voters have no workload: they are governed by
the schedule alone (see liveness.py).
"""

import bisect

NEMESIS_KILL = "nemesis kill"


class Processes:
    def __init__(self, run):
        self.voters = set(run.voters)
        self.actions = {}
        for a in run.workload:
            self.actions.setdefault(a["node"], []).append((a["t"], a["action"]))
        for s in run.steps:
            for node in s.killed:
                if node not in self.voters:
                    self.actions.setdefault(node, []).append((s.start, NEMESIS_KILL))
        for acts in self.actions.values():
            acts.sort(key=lambda x: x[0])   # stable: same-time actions keep file order
        self._times = {n: [t for t, _ in acts] for n, acts in self.actions.items()}

    def nodes(self):
        return sorted(self.actions)

    def last_action(self, node, t):
        """(time, action) of the node's last action at or before t, or None."""
        times = self._times.get(node)
        if not times:
            return None
        i = bisect.bisect_right(times, t)
        return self.actions[node][i - 1] if i else None

    def live(self, node, t):
        last = self.last_action(node, t)
        return last is not None and last[1] == "start"

    def actions_in(self, node, a, b):
        """Actions with a <= time <= b."""
        return [(t, act) for t, act in self.actions.get(node, []) if a <= t <= b]

    def next_action_after(self, node, t):
        """The time of the node's first action strictly after t (inf if none)."""
        times = self._times.get(node, [])
        i = bisect.bisect_right(times, t)
        return times[i] if i < len(times) else float("inf")

    def last_start(self, node, t):
        starts = [x for x, act in self.actions.get(node, []) if act == "start" and x <= t]
        return starts[-1] if starts else None

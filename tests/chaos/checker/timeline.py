"""The nemesis schedule as a function of time: which step was active, what it did to whom, and
whether a majority of voters could talk to each other.

Steps never overlap (the contract), so each one is a constant condition over [start, end]; a
time in no step is "between steps". Attribution uses the step active at that moment.
"""

import itertools

BETWEEN = "between steps"


def fmt_rel(seconds):
    """A time relative to the run start, for the report: '+12.345 s'."""
    return "?" if seconds is None else f"{seconds:+.3f} s"


def escape(s):
    """A string from the run directory, safe for a terminal: control characters, backslashes and
    anything outside printable ASCII become escapes."""
    out = []
    for ch in str(s):
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif 0x20 <= o < 0x7F:
            out.append(ch)
        elif o <= 0xFF:
            out.append(f"\\x{o:02x}")
        elif o <= 0xFFFF:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    return "".join(out)


class Timeline:
    def __init__(self, run):
        self.run = run
        self.steps = list(run.steps)
        self.voters = sorted(run.voters)

    def step_at(self, t):
        """The step active at t (start <= t <= end), or None."""
        if t is None:
            return None
        for s in self.steps:
            if s.start <= t <= s.end:
                return s
        return None

    def previous_step(self, t):
        prev = None
        for s in self.steps:
            if s.end < t:
                prev = s
        return prev

    def kind_at(self, t):
        s = self.step_at(t)
        return s.kind if s else BETWEEN

    def overlapping(self, a, b):
        return [s for s in self.steps if s.overlaps(a, b)]

    def step_label(self, t):
        """'step 3 member-isolated' or 'between steps'."""
        s = self.step_at(t)
        return f"step {s.step} {escape(s.kind)}" if s else BETWEEN

    def describe(self, t):
        """The step active at t with its description, or where t falls between steps."""
        if t is None:
            return "time unknown"
        s = self.step_at(t)
        if s:
            return f"step {s.step} {escape(s.kind)} ({escape(s.description)})"
        prev = self.previous_step(t)
        if prev is None:
            return "no step (before the first)"
        return (f"no step (step {prev.step} {escape(prev.kind)} ended {t - prev.end:.3f} s before: "
                f"{escape(prev.description)})")

    # --- who could talk to whom -------------------------------------------------------------
    #
    # Within a step, a voter in "paused" or "restarted" is down for the whole step; one in "killed"
    # too, unless the step's "events" say when it was killed and started again (a leader-kill
    # loop restarts its voters within the step). The step's "cut" holds for the whole step, unless
    # its "flaps" say when it was in force (a flapping link).

    @staticmethod
    def killed_at(step, t):
        kills = [e for e in step.events if e[1] in ("kill", "start")]
        if not kills:
            return step.killed
        state = {}
        for et, what, node in kills:
            if et <= t:
                state[node] = what
        return frozenset(n for n, what in state.items() if what == "kill")

    @staticmethod
    def cut_at(step, t):
        if not step.flaps:
            return step.cut
        return step.cut if any(a <= t < b for a, b in step.flaps) else frozenset()

    def pieces(self, step):
        """The step as [(from, to, voters down, cut)] over which nothing changed."""
        points = {step.start, step.end}
        points |= {t for t, _, _ in step.events if step.start < t < step.end}
        for a, b in step.flaps:
            points |= {x for x in (a, b) if step.start < x < step.end}
        points = sorted(points)
        out = []
        for a, b in zip(points, points[1:]):
            mid = (a + b) / 2
            down = step.paused | step.restarted | self.killed_at(step, mid)
            out.append((a, b, down, self.cut_at(step, mid)))
        return out

    def change_points(self):
        """Every moment at which the condition may change."""
        return sorted({x for s in self.steps for a, b, _, _ in self.pieces(s) for x in (a, b)})

    def _can_talk(self, down, cut):
        up = [v for v in self.voters if v not in down]
        need = self.run.majority
        if len(up) < need:
            return False
        if not cut:
            return True
        for group in itertools.combinations(up, need):
            if all((a, b) not in cut and (b, a) not in cut for a, b in itertools.combinations(group, 2)):
                return True
        return False

    def majority_can_talk_at(self, t):
        """Whether some majority of the voters, none of them down, had no cut between any two of
        them in either direction at t (a step that ends at t no longer counts)."""
        for s in self.steps:
            if s.start <= t < s.end:
                for a, b, down, cut in self.pieces(s):
                    if a <= t < b:
                        return self._can_talk(down, cut)
        return True

    def talk_intervals(self, a, b):
        """The maximal intervals within [a, b] during which a majority of voters could talk."""
        out = []
        cur = a
        for s in self.steps:
            if s.end < a or s.start > b:
                continue
            for p0, p1, down, cut in self.pieces(s):
                if p1 < a or p0 > b or self._can_talk(down, cut):
                    continue
                if p0 > cur:
                    out.append((cur, min(p0, b)))
                cur = max(cur, p1)
        if cur < b:
            out.append((cur, b))
        return out

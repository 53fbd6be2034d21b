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

    @staticmethod
    def voters_down(step):
        """Voters that were not running or not answering during the step."""
        if step is None:
            return frozenset()
        return step.paused | step.killed | step.restarted

    def majority_can_talk(self, step):
        """Whether some majority of the voters, none of them paused, killed or restarting, had no
        cut between any two of them in either direction during the step (None: no step)."""
        down = self.voters_down(step)
        up = [v for v in self.voters if v not in down]
        need = self.run.majority
        if len(up) < need:
            return False
        if step is None or not step.cut:
            return True
        for group in itertools.combinations(up, need):
            if all((a, b) not in step.cut and (b, a) not in step.cut
                   for a, b in itertools.combinations(group, 2)):
                return True
        return False

    def talk_intervals(self, a, b):
        """The maximal intervals within [a, b] during which a majority of voters could talk."""
        out = []
        cur = a
        for s in self.steps:
            if s.end < a or s.start > b:
                continue
            if not self.majority_can_talk(s):
                if s.start > cur:
                    out.append((cur, s.start))
                cur = max(cur, s.end)
        if cur < b:
            out.append((cur, b))
        return out

    def majority_can_talk_at(self, t):
        """The same at one moment; a step that ends at t no longer counts."""
        for s in self.steps:
            if s.start <= t < s.end:
                return self.majority_can_talk(s)
        return True

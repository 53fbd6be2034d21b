"""Reading one run directory of the chaos harness (the format is in docs/chaos.md).

Everything the checker knows comes from here: run.json, schedule.jsonl, workload.jsonl,
history/*.jsonl, leaders.jsonl, final/*.json and before_restart/*.json. A line that does not
parse (the harness may have been stopped in the middle of writing one) is skipped and kept as a
problem, which the report shows as a warning; only a missing or unreadable run.json is fatal.
"""

import json
import math
import os
from dataclasses import dataclass, field


class RunDirError(Exception):
    """The directory cannot be checked at all (no run.json, or one that does not parse)."""


def _number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _integer(x):
    return isinstance(x, int) and not isinstance(x, bool)


@dataclass(frozen=True)
class Step:
    """One nemesis step of schedule.jsonl. Keys that do not apply are empty."""
    step: int
    kind: str
    start: float
    end: float
    description: str
    cut: frozenset = frozenset()          # directed pairs (from, to) whose packets are dropped
    loss: tuple = ()                      # ((node, percent), ...)
    paused: frozenset = frozenset()
    killed: frozenset = frozenset()
    starved: bool = False
    restarted: frozenset = frozenset()
    # Optional, beyond the contract: when within the step a kill or a cut was in force.
    events: tuple = ()                    # ((t, "kill" | "start", node), ...) sorted by t
    flaps: tuple = ()                     # ((cut from, restored at), ...): "cut" held only then

    @property
    def loss_map(self):
        return dict(self.loss)

    def overlaps(self, a, b):
        """Whether the step was active at some moment of [a, b]."""
        return self.start <= b and a <= self.end


@dataclass
class Run:
    path: str
    meta: dict
    start: float
    end: float
    voters: dict                 # voter name -> voter id
    members: list                # member node names (run.json "members")
    settings: dict
    heal_bound: float
    steps: list                  # [Step], sorted by start
    workload: list               # [{"t", "node", "action"}], sorted by t
    histories: dict              # observer -> [line dicts in file order], each with "_line"
    polls: list                  # leaders.jsonl lines, sorted by t
    finals: dict                 # voter -> {"status": ..., "members": ...}
    before: dict                 # (step, voter) -> {"status": ..., "members": ...}
    problems: list = field(default_factory=list)   # (file, line or None, message)

    @property
    def majority(self):
        return len(self.voters) // 2 + 1

    def rel(self, t):
        return None if t is None else t - self.start

    def step_numbered(self, n):
        """The step whose "step" is n, or None."""
        return next((s for s in self.steps if s.step == n), None)


def _read_jsonl(path, rel, problems):
    """(line number, object) for each line that parses as a JSON object."""
    out = []
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        problems.append((rel, None, f"cannot read: {e.strerror}"))
        return out
    for n, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            problems.append((rel, n, "not a JSON line (skipped)"))
            continue
        if not isinstance(obj, dict):
            problems.append((rel, n, "not a JSON object (skipped)"))
            continue
        out.append((n, obj))
    return out


def _read_json(path, rel, problems):
    try:
        with open(path, "rb") as f:
            obj = json.loads(f.read().decode("utf-8"))
    except OSError as e:
        problems.append((rel, None, f"cannot read: {e.strerror}"))
        return None
    except (UnicodeDecodeError, ValueError):
        problems.append((rel, None, "not JSON (skipped)"))
        return None
    if not isinstance(obj, dict):
        problems.append((rel, None, "not a JSON object (skipped)"))
        return None
    return obj


def _files(path, folder, suffix):
    """(stem, path, name relative to the run directory) of each FOLDER/*SUFFIX, sorted by name;
    nothing if the folder is not there."""
    where = os.path.join(path, folder)
    if not os.path.isdir(where):
        return []
    return [(name[: -len(suffix)], os.path.join(where, name), f"{folder}/{name}")
            for name in sorted(os.listdir(where)) if name.endswith(suffix)]


def _names(x):
    return frozenset(str(n) for n in x) if isinstance(x, list) else frozenset()


def _step(n, obj, problems):
    if not (_integer(obj.get("step")) and _number(obj.get("start")) and _number(obj.get("end"))):
        problems.append(("schedule.jsonl", n, "a step without step/start/end numbers (skipped)"))
        return None
    cut = set()
    for pair in obj.get("cut") or []:
        if isinstance(pair, list) and len(pair) == 2:
            cut.add((str(pair[0]), str(pair[1])))
        else:
            problems.append(("schedule.jsonl", n, "a cut entry that is not [from, to] (ignored)"))
    loss = obj.get("loss") or {}
    loss = tuple(sorted((str(k), v) for k, v in loss.items() if _number(v))) if isinstance(loss, dict) else ()
    events = []
    for e in obj.get("events") or []:
        if (isinstance(e, dict) and _number(e.get("t")) and e.get("what") in ("kill", "start")
                and isinstance(e.get("node"), str)):
            events.append((float(e["t"]), e["what"], e["node"]))
    flaps = []
    for f in obj.get("flaps") or []:
        if isinstance(f, list) and len(f) == 2 and _number(f[0]) and (f[1] is None or _number(f[1])):
            flaps.append((float(f[0]), float(f[1]) if f[1] is not None else float(obj["end"])))
    return Step(step=obj["step"], kind=str(obj.get("kind", "?")), start=float(obj["start"]),
                end=float(obj["end"]), description=str(obj.get("description", "")),
                # A voter whose disk is throttled stalls on every fsync: its process is impaired
                # as if stopped (it can neither vote nor heartbeat in time), so it counts as paused.
                cut=frozenset(cut), loss=loss, paused=_names(obj.get("paused")) | _names(obj.get("slow_disk")),
                killed=_names(obj.get("killed")), starved=obj.get("starved") is True,
                restarted=_names(obj.get("restarted")), events=tuple(sorted(events)), flaps=tuple(sorted(flaps)))


def load(path):
    """Reads RUN_DIR into a Run. Raises RunDirError when run.json is missing or unusable."""
    problems = []
    meta = _read_json(os.path.join(path, "run.json"), "run.json", problems)
    if meta is None:
        raise RunDirError(f"{path}: no usable run.json ({problems[-1][2] if problems else 'missing'})")
    if not _number(meta.get("start")):
        raise RunDirError(f"{path}: run.json has no \"start\" time")
    start = float(meta["start"])

    voters = {}
    for name, v in (meta.get("voters") or {}).items():
        vid = v.get("voter_id") if isinstance(v, dict) else None
        if _integer(vid):
            voters[str(name)] = vid
        else:
            problems.append(("run.json", None, f"voter {name!r} has no voter_id (ignored)"))
    members = [str(m) for m in (meta.get("members") or {})]
    settings = meta.get("settings") if isinstance(meta.get("settings"), dict) else {}
    heal_bound = settings.get("heal_bound_s")
    if not _number(heal_bound):
        problems.append(("run.json", None, "settings.heal_bound_s is missing: using 10 s"))
        heal_bound = 10.0

    steps = []
    for n, obj in _read_jsonl(os.path.join(path, "schedule.jsonl"), "schedule.jsonl", problems):
        s = _step(n, obj, problems)
        if s is not None:
            steps.append(s)
    steps.sort(key=lambda s: (s.start, s.step))

    workload = []
    for n, obj in _read_jsonl(os.path.join(path, "workload.jsonl"), "workload.jsonl", problems):
        if _number(obj.get("t")) and isinstance(obj.get("node"), str) and isinstance(obj.get("action"), str):
            workload.append({"t": float(obj["t"]), "node": obj["node"], "action": obj["action"]})
        else:
            problems.append(("workload.jsonl", n, "a line without t/node/action (skipped)"))
    workload.sort(key=lambda a: a["t"])  # stable: equal times keep file order

    histories = {}
    if not os.path.isdir(os.path.join(path, "history")):
        problems.append(("history", None, "no history directory: no observer was recorded"))
    for observer, full, rel in _files(path, "history", ".jsonl"):
        lines = []
        for n, obj in _read_jsonl(full, rel, problems):
            if not _number(obj.get("t")):
                problems.append((rel, n, "a line without a time (skipped)"))
                continue
            obj = dict(obj)
            obj["_line"] = n
            lines.append(obj)
        histories[observer] = lines

    polls = []
    for n, obj in _read_jsonl(os.path.join(path, "leaders.jsonl"), "leaders.jsonl", problems):
        if _number(obj.get("t")) and isinstance(obj.get("voter"), str):
            polls.append(obj)
        else:
            problems.append(("leaders.jsonl", n, "a line without t/voter (skipped)"))
    polls.sort(key=lambda p: p["t"])

    finals = {}
    for voter, full, rel in _files(path, "final", ".json"):
        obj = _read_json(full, rel, problems)
        if obj is not None:
            finals[voter] = obj

    before = {}
    for stem, full, rel in _files(path, "before_restart", ".json"):
        step_text, _, voter = stem.partition("-")
        if not step_text.isdigit() or not voter:
            problems.append((rel, None, "name is not <step>-<voter>.json (skipped)"))
            continue
        obj = _read_json(full, rel, problems)
        if obj is not None:
            before[(int(step_text), voter)] = obj

    end = meta.get("end")
    if not _number(end):
        seen = [start] + [s.end for s in steps] + [a["t"] for a in workload] + [p["t"] for p in polls]
        seen += [ln["t"] for lines in histories.values() for ln in lines]
        end = max(seen)
        problems.append(("run.json", None, "no \"end\" (the run did not finish?): using the last time seen"))

    return Run(path=path, meta=meta, start=start, end=float(end), voters=voters, members=members,
               settings=settings, heal_bound=float(heal_bound), steps=steps, workload=workload,
               histories=histories, polls=polls, finals=finals, before=before, problems=problems)

"""The seeded plan of a chaos run: the nemesis steps and the workload's actions, all drawn from one
seed before anything starts, so that the run can be replayed (`scripts/chaos --seed S` draws the
same plan; what the cluster does in between -- who is the consensus leader at a step's start --
is resolved when the step runs and written to schedule.jsonl).

A step of the plan: {"kind", "duration" (s), "gap" (quiet seconds after its heal), and the
kind's own choices}. The kinds, in the order the README lists them: KINDS.
The workload: {"at" (s after the window starts), "node", "action": start | leave | kill}.
"""

import random

# kind -> what it does (the run.json "nemeses" list and the README's table use these names)
KINDS = {
    "partition": "voters split into a majority and a minority side (members spread over both), "
                 "every link across cut both ways",
    "leader-isolated": "the consensus leader cut from every other node, both ways",
    "member-isolated": "one member cut from every voter, both ways",
    "oneway-voters": "one voter's packets to another voter dropped (one direction only: leader to a follower, "
                     "or a follower to the leader)",
    "oneway-member": "one member's packets to one voter dropped (one direction only)",
    "sequential-cuts": "one member cut from one voter, healed, 1 s later cut from another voter "
                       "(never from a majority at once; two schedule lines, phase 1 and 2)",
    "voter-flap": "the link between two voters cut and restored every 1-3 s, both ways",
    "member-loss": "80 % loss on everything one member sends and receives",
    "voter-pause": "SIGSTOP of one voter (the leader or a follower) for 1-10 s, then SIGCONT",
    "leader-kill-loop": "kill -9 of the consensus leader, again and again: each killed voter restarts from "
                        "its data directory once another leads, then the new leader is killed",
    "cpu-starve": "busy loops (nice -10) pinned with taskset to every core the voters may run on",
    "slow-disk": "the voters' data directories (a loop-mounted ext4) throttled to a few writes a second "
                 "for the leader or for every voter (blkio cgroup)",
    "full-restart": "kill -9 of every voter at once, then all started again from their data directories",
}

LOSS_PCT = 80


def draw_step(rng, kind, voters, members):
    """One step of `kind` with its duration and choices drawn from rng."""
    s = {"kind": kind, "gap": round(rng.uniform(3.0, 5.0), 2)}
    if kind == "partition":
        minority = rng.sample(voters, (len(voters) - 1) // 2 if len(voters) > 3 and rng.random() < 0.5 else 1)
        s["minority"] = sorted(minority)
        s["minority_members"] = sorted(m for m in members if rng.random() < 0.5)
        s["duration"] = round(rng.uniform(6, 12), 2)
    elif kind == "leader-isolated":
        s["duration"] = round(rng.uniform(5, 10), 2)
    elif kind == "member-isolated":
        s["member"] = rng.choice(members)
        s["duration"] = round(rng.uniform(5, 10), 2)
    elif kind == "oneway-voters":
        s["direction"] = rng.choice(["leader->follower", "follower->leader"])
        s["follower_rank"] = rng.randrange(len(voters) - 1)
        s["duration"] = round(rng.uniform(5, 10), 2)
    elif kind == "oneway-member":
        s["member"] = rng.choice(members)
        s["voter"] = rng.choice(voters)
        s["duration"] = round(rng.uniform(5, 10), 2)
    elif kind == "sequential-cuts":
        s["member"] = rng.choice(members)
        s["voters"] = rng.sample(voters, 2)
        s["phases"] = [round(rng.uniform(3, 6), 2), round(rng.uniform(3, 6), 2)]
        s["pause"] = 1.0
        s["duration"] = round(sum(s["phases"]) + s["pause"], 2)
    elif kind == "voter-flap":
        s["pair"] = sorted(rng.sample(voters, 2))
        s["duration"] = round(rng.uniform(10, 15), 2)
        t, toggles, down = 0.0, [], True
        while t < s["duration"]:
            d = round(rng.uniform(1, 3), 2)
            toggles.append([round(t, 2), min(round(t + d, 2), s["duration"]), "cut" if down else "up"])
            t += d
            down = not down
        s["toggles"] = toggles
    elif kind == "member-loss":
        s["member"] = rng.choice(members)
        s["loss"] = LOSS_PCT
        s["duration"] = round(rng.uniform(6, 12), 2)
    elif kind == "voter-pause":
        s["target"] = rng.choice(["leader", "follower"])
        s["follower_rank"] = rng.randrange(len(voters) - 1)
        s["duration"] = round(rng.uniform(1, 10), 2)
    elif kind == "leader-kill-loop":
        s["duration"] = round(rng.uniform(10, 20), 2)
        s["pauses"] = [round(rng.uniform(0.5, 1.5), 2) for _ in range(20)]
    elif kind == "cpu-starve":
        s["duration"] = round(rng.uniform(5, 10), 2)
    elif kind == "slow-disk":
        s["target"] = rng.choice(["leader", "all"])
        s["duration"] = round(rng.uniform(5, 10), 2)
    elif kind == "full-restart":
        s["down"] = round(rng.uniform(1, 3), 2)
        s["duration"] = s["down"]
    else:
        raise ValueError(f"unknown nemesis kind {kind}")
    return s


def make_plan(seed, minutes, kinds, voters, members, churn):
    """The steps (as many as fit in the window, cycling through the kinds in a fresh shuffle each
    round, so that a short run still sees every kind once) and the workload's actions on the
    `churn` members (the others stay up: observers sit on them)."""
    window = minutes * 60.0
    rng = random.Random(f"nemesis-{seed}")
    steps, t, order = [], 4.0, []  # the first step after a few quiet seconds
    while True:
        if not order:
            order = list(kinds)
            rng.shuffle(order)
        s = draw_step(rng, order.pop(0), voters, members)
        if t + s["duration"] > window:
            break
        s["at"] = round(t, 2)  # planned start, s after the window starts (later if a step overran)
        steps.append(s)
        t += s["duration"] + s["gap"]  # a gap is at least 3 s: the loop ends

    wrng = random.Random(f"workload-{seed}")
    up = {m: True for m in churn}
    actions, t = [], wrng.uniform(3, 6)
    while churn and t < window:
        m = wrng.choice(churn)
        if up[m]:
            action = wrng.choice(["leave", "kill"])
            up[m] = False
        else:
            action = "start"
            up[m] = True
        actions.append({"at": round(t, 2), "node": m, "action": action})
        t += wrng.uniform(4, 10)
    return {"seed": seed, "minutes": minutes, "window_s": window, "steps": steps, "workload": actions}


def describe_plan(plan):
    """The plan as text, one line per step and per workload action (printed at start)."""
    lines = [f"plan for seed {plan['seed']}: {len(plan['steps'])} nemesis steps, "
             f"{len(plan['workload'])} workload actions in {plan['window_s']:.0f} s"]
    for i, s in enumerate(plan["steps"], 1):
        extra = {k: v for k, v in s.items() if k not in ("kind", "at", "duration", "gap", "toggles", "pauses")}
        lines.append(f"  step {i:2d} at +{s['at']:6.1f} s  {s['kind']:<17} {s['duration']:5.1f} s, gap {s['gap']:.1f} s"
                     + (f"  {extra}" if extra else ""))
    lines.append("  workload: " + ", ".join(f"+{a['at']:.0f} {a['action']} {a['node']}" for a in plan["workload"]))
    return "\n".join(lines)

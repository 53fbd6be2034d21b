"""The nemesis: runs the steps of the plan one at a time, each healed before the next, and writes
one schedule.jsonl line per step when it is healed (/work/notes/chaos_contract.md).

Every step is a method `_<kind>(step, rec)` that applies its fault, waits (self.sleep: cut short
when the run's window ends), and heals in a `finally`; `rec` is the schedule line it fills in
(cut, loss, paused, killed, starved, restarted, and what else says what happened).
"""

import os
import time

import hostfaults
from plan import LOSS_PCT


class Nemesis:
    def __init__(self, run):
        self.run = run            # harness.Run: cluster, links, fleet, schedule, leader tracking, log
        self.step_no = 0

    # -- helpers ---------------------------------------------------------------------------
    @property
    def voters(self):
        return [v.name for v in self.run.cluster.voter_nodes]

    def sleep(self, seconds):
        return self.run.sleep(seconds)

    def leader_or_fallback(self, why):
        """The consensus leader now (waits up to 5 s for one); v1 if there is none."""
        leader = self.run.wait_leader(5.0)
        if leader is None:
            self.run.log(f"  no consensus leader for {why}: using {self.voters[0]}")
            return self.voters[0]
        return leader

    def followers(self, leader):
        return [v for v in self.voters if v != leader]

    def member_target(self, wanted):
        """The planned member if it runs, else the next running member (in name order after it)."""
        names = sorted(self.run.member_names())
        running = [m for m in names if self.run.fleet.alive(m)]
        if wanted in running or not running:
            return wanted
        after = [m for m in running if m > wanted] + [m for m in running if m < wanted]
        self.run.log(f"  {wanted} is not running: {after[0]} instead")
        return after[0]

    def cut_both(self, a, others):
        out = []
        for b in others:
            out += [[a, b], [b, a]]
        return out

    def apply(self, cut=(), loss=None):
        self.run.links.apply(cut=cut, loss=loss)

    # -- the loop ----------------------------------------------------------------------------
    def run_plan(self, steps, window_start, window_end):
        for step in steps:
            if self.run.stopping():
                return
            at = window_start + step["at"]
            if at > time.time() and not self.sleep(at - time.time()):
                return
            if time.time() + 1.0 > window_end:
                return
            self.run_step(step)
            if not self.sleep(step["gap"]):
                return

    def run_step(self, step):
        kind = step["kind"]
        method = getattr(self, "_" + kind.replace("-", "_"))
        self.step_no += 1
        rec = {"step": self.step_no, "kind": kind, "start": time.time()}
        self.run.log(f"step {self.step_no}: {kind} ({step['duration']:.1f} s planned)")
        try:
            method(step, rec)
        finally:
            self.run.heal_everything(rec)
            rec.setdefault("end", time.time())
            rec["planned"] = {k: v for k, v in step.items() if k != "toggles"}
            self.run.schedule.write(rec)
            self.run.log(f"  healed step {rec['step']} ({kind}) after {rec['end'] - rec['start']:.1f} s: "
                         f"{rec.get('description', '')}")

    # -- network steps -----------------------------------------------------------------------
    def _partition(self, step, rec):
        minority = set(step["minority"])
        side_b = minority | set(step["minority_members"])
        nodes = self.voters + self.run.member_names()
        a = [n for n in nodes if n not in side_b]
        b = [n for n in nodes if n in side_b]
        cut = [[x, y] for x in a for y in b] + [[y, x] for x in a for y in b]
        rec["description"] = f"{' '.join(a)} | {' '.join(b)} (every link across cut both ways)"
        rec["cut"] = cut
        self.apply(cut)
        self.sleep(step["duration"])

    def _leader_isolated(self, step, rec):
        leader = self.leader_or_fallback("leader-isolated")
        others = [n for n in self.voters + self.run.member_names() if n != leader]
        rec["cut"] = self.cut_both(leader, others)
        rec["description"] = f"consensus leader {leader} cut from every other node, both ways"
        rec["isolated"] = leader
        self.apply(rec["cut"])
        self.sleep(step["duration"])

    def _member_isolated(self, step, rec):
        m = self.member_target(step["member"])
        rec["cut"] = self.cut_both(m, self.voters)
        rec["description"] = f"{m} cut from {', '.join(self.voters)} (both ways)"
        self.apply(rec["cut"])
        self.sleep(step["duration"])

    def _oneway_voters(self, step, rec):
        leader = self.leader_or_fallback("oneway-voters")
        followers = self.followers(leader)
        follower = followers[step["follower_rank"] % len(followers)]
        a, b = (leader, follower) if step["direction"] == "leader->follower" else (follower, leader)
        rec["cut"] = [[a, b]]
        rec["description"] = f"{a} -> {b} dropped (one way; leader {leader})"
        self.apply(rec["cut"])
        self.sleep(step["duration"])

    def _oneway_member(self, step, rec):
        m = self.member_target(step["member"])
        rec["cut"] = [[m, step["voter"]]]
        rec["description"] = f"{m} -> {step['voter']} dropped (one way)"
        self.apply(rec["cut"])
        self.sleep(step["duration"])

    def _sequential_cuts(self, step, rec):
        """Two schedule lines: phase 1 (this rec) and phase 2 (written here), 1 s apart."""
        m = self.member_target(step["member"])
        first, second = step["voters"]
        rec["cut"] = self.cut_both(m, [first])
        rec["phase"] = 1
        rec["description"] = f"{m} cut from {first} (both ways), phase 1 of 2 (then from {second})"
        self.apply(rec["cut"])
        try:
            self.sleep(step["phases"][0])
        finally:
            self.run.heal_links(rec)
            rec["end"] = time.time()
        if not self.sleep(step["pause"]):
            return
        # Phase 2 is a step of its own: the rec of phase 1 is written first, by run_step, so
        # write it here and let run_step write phase 2's.
        rec["planned"] = {k: v for k, v in step.items()}
        self.run.schedule.write(dict(rec))
        self.run.log(f"  healed step {rec['step']} (sequential-cuts phase 1) after {rec['end'] - rec['start']:.1f} s")
        self.step_no += 1
        rec.clear()
        rec.update({"step": self.step_no, "kind": step["kind"], "start": time.time(), "phase": 2,
                    "cut": self.cut_both(m, [second]), "first_phase_step": self.step_no - 1,
                    "description": f"{m} cut from {second} (both ways), phase 2 of 2 "
                                   f"({step['pause']:g} s after its cut from {first} healed)"})
        self.apply(rec["cut"])
        self.sleep(step["phases"][1])

    def _voter_flap(self, step, rec):
        a, b = step["pair"]
        cut = self.cut_both(a, [b])
        rec["cut"] = cut
        rec["description"] = f"link {a} <-> {b} cut and restored every 1-3 s"
        flaps = []
        start = time.time()
        try:
            for t0, t1, state in step["toggles"]:
                if state == "cut":
                    self.apply(cut)
                    flaps.append([time.time(), None])
                else:
                    self.apply()
                    if flaps and flaps[-1][1] is None:
                        flaps[-1][1] = time.time()
                if not self.sleep(max(0.0, start + t1 - time.time())):
                    break
        finally:
            self.run.heal_links(rec)
            if flaps and flaps[-1][1] is None:
                flaps[-1][1] = time.time()
            rec["flaps"] = flaps

    def _member_loss(self, step, rec):
        m = self.member_target(step["member"])
        rec["loss"] = {m: step.get("loss", LOSS_PCT)}
        rec["description"] = f"{rec['loss'][m]} % loss on everything {m} sends and receives"
        self.apply(loss=rec["loss"])
        self.sleep(step["duration"])

    # -- process steps -----------------------------------------------------------------------
    def _voter_pause(self, step, rec):
        leader = self.leader_or_fallback("voter-pause")
        if step["target"] == "leader":
            v = leader
        else:
            f = self.followers(leader)
            v = f[step["follower_rank"] % len(f)]
        rec["paused"] = [v]
        rec["description"] = f"SIGSTOP of {v} ({'the leader' if v == leader else 'a follower; leader ' + leader}) " \
                             f"for {step['duration']:.1f} s"
        self.run.fleet.pause(v)
        self.sleep(step["duration"])

    def _leader_kill_loop(self, step, rec):
        end = time.time() + step["duration"]
        killed, events = [], []
        rec["killed"] = killed
        rec["events"] = events
        rec["description"] = "kill -9 of the consensus leader in a loop"
        i = 0
        try:
            while time.time() < end and not self.run.stopping():
                leader = self.run.wait_leader(5.0)
                if leader is None:
                    events.append({"t": time.time(), "what": "no-leader"})
                    continue
                self.run.fleet.kill(leader, by="nemesis")
                events.append({"t": time.time(), "what": "kill", "node": leader})
                if leader not in killed:
                    killed.append(leader)
                new = self.run.wait_leader(10.0, exclude={leader})
                events.append({"t": time.time(), "what": "new-leader", "node": new})
                self.run.fleet.start(leader, by="nemesis")
                events.append({"t": time.time(), "what": "start", "node": leader})
                if not self.sleep(step["pauses"][i % len(step["pauses"])]):
                    break
                i += 1
        finally:
            rec["description"] = f"kill -9 of the consensus leader in a loop: {sum(e['what'] == 'kill' for e in events)} " \
                                 f"kills ({', '.join(e['node'] for e in events if e['what'] == 'kill')})"

    def _cpu_starve(self, step, rec):
        pids = [self.run.fleet.pid(v) for v in self.voters if self.run.fleet.alive(v)]
        cpus = hostfaults.cpus_of(pids)
        rec["starved"] = True
        n = self.run.hogs.start(cpus, step["duration"])
        rec["description"] = f"{n} busy loops at nice {hostfaults.HOG_NICE} pinned to CPUs {cpus} " \
                             f"(the voters' affinity) for {step['duration']:.1f} s"
        rec["cpus"] = cpus
        self.sleep(step["duration"])

    def _slow_disk(self, step, rec):
        if self.run.disk is None:
            rec["description"] = "slow-disk not possible here: " + self.run.disk_why
            rec["skipped"] = True
            return
        if step["target"] == "leader":
            leader = self.leader_or_fallback("slow-disk")
            targets = [leader]
        else:
            targets = [v for v in self.voters if self.run.fleet.alive(v)]
        pids = [self.run.fleet.pid(v) for v in targets if self.run.fleet.alive(v)]
        self.run.disk.slow(pids)
        rec["slow_disk"] = targets
        rec["description"] = f"data disk of {', '.join(targets)} throttled to {hostfaults.SLOW_WRITE_IOPS} " \
                             f"writes/s for {step['duration']:.1f} s"
        self.sleep(step["duration"])

    def _full_restart(self, step, rec):
        self.run.snapshot_voters(os.path.join(self.run.dir, "before_restart"), f"{rec['step']}-")
        voters = self.voters
        for v in voters:
            self.run.fleet.kill(v, by="nemesis", wait=False)
        rec["killed"] = voters
        rec["restarted"] = voters
        rec["description"] = f"kill -9 of every voter ({', '.join(voters)}), {step['down']:.1f} s down, " \
                             "all started again from their data directories"
        self.sleep(step["down"])
        # heal_everything starts every voter that is down

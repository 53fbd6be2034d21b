#!/usr/bin/env python3
"""Detection: how long from a member's death to its removal at every watcher.

Real daemons on loopback: 3 voters, --members members, 3 `rosterctl watch --json` watchers on
different nodes (a voter and two members). A member is killed with SIGKILL (a crash) or frozen
with SIGSTOP (a hung process or a dead host: nothing closes its connections); the time is from the
signal to the moment the last watcher prints a view without it. The member is then replaced by a
fresh process, and the next one goes. Settings: heartbeat intervals at the default phi threshold.

--security off,on (issue 13) runs a plaintext cluster and a CURVE one (rosterkit's
Cluster(secure=True): every node, watcher and rosterctl with keys) side by side with the same
settings, their kills interleaved; the default, off, is the plaintext run alone as before.

    /usr/bin/python3 bench/detection/run.py [--kills 30] [--intervals 50,100,1000] [--modes kill,stop]
        [--security off|on|off,on] [--load N]

--intervals auto runs rosterd without --heartbeat-interval-ms: its default interval adapts to
the cluster's size (detector/heartbeat_interval.hh; 50 ms at these sizes).
"""

import argparse
import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "pylib"))
from rosterkit.cluster import Cluster, adaptive_interval_ms  # noqa: E402
from rosterkit.machine import machine  # noqa: E402
from rosterkit.paths import binary  # noqa: E402
from rosterkit.procs import Proc  # noqa: E402
from rosterkit.report import command_line, ms, save, table  # noqa: E402
from rosterkit.stats import summary  # noqa: E402
from rosterkit.waiting import wait_for  # noqa: E402


def ids(view):
    return {m["id"] for m in view["members"]}


def removal_arrival(views, victim):
    """When the first view after the last one holding the victim arrived (earlier views, from
    before the victim joined, do not hold it either)."""
    last = max(i for i, v in enumerate(views) if victim in ids(v))
    return views[last + 1]["_arrived"]


class Run:
    """One cluster (plaintext or CURVE) with its watchers, killed member by member."""

    def __init__(self, interval_ms, mode, members, settle_intervals, secure, load=0):
        # "auto": rosterd's default, an interval that adapts to the cluster's size (50 ms up to
        # 1,000 members); the waits below use that level.
        self.interval_ms = adaptive_interval_ms(members + 3) if interval_ms == "auto" else interval_ms
        self.mode, self.settle_intervals = mode, settle_intervals
        self.took = []
        self.k = 0
        self.c = c = Cluster(heartbeat_ms=None if interval_ms == "auto" else interval_ms, secure=secure)
        c.start_voters()
        self.names = [f"m{i}" for i in range(members)]
        for n in self.names:
            c.add_member(n)
        c.wait_formed(["v1", "v2", "v3"] + self.names, timeout=60)
        self.load = None
        if load:
            # scale_load plays `load` more members (joined, heartbeating every voter at the
            # interval the cluster's size gives, and saying so), so that the cluster is large.
            total = load + members + 3
            level = adaptive_interval_ms(total)
            self.interval_ms = level if interval_ms == "auto" else interval_ms
            voters = ",".join(v.listen for v in c.voter_nodes)
            self.load = Proc([binary("scale_load"), "--voters", voters, "--cluster", c.cluster, "--members", str(load),
                              "--interval-ms", str(self.interval_ms), "--seconds", "36000"], capture=True)
            first = self.load.wait_output(lambda lines: lines and lines[0], 600, "scale_load's first line").split()
            if not first or first[0] != "joined" or int(first[1]) != load:
                raise RuntimeError(f"scale_load: not every member joined: {' '.join(first)}")
            wait_for(f"{total} members in the view", lambda: len(c.members_of(c.voter_nodes[0])["members"]) >= total,
                     timeout=120, interval=0.5)
        self.watchers = [c.watch(c.voter_nodes[1]), c.watch(c.members["m0"]), c.watch(c.members["m1"])]
        wait_for("the watchers' first view", lambda: all(w.last() for w in self.watchers))
        self.victims = [n for n in self.names if n not in ("m0", "m1")]

    def kill_one(self):
        c, interval_ms, watchers = self.c, self.interval_ms, self.watchers
        name = self.victims[self.k % len(self.victims)]
        self.k += 1
        # Let the detectors settle on the fresh member's rhythm before it dies, then a random
        # part of one interval, so that kills land at every phase of the heartbeat timer.
        time.sleep(max(0.5, self.settle_intervals * interval_ms / 1000) + random.uniform(0, interval_ms / 1000))
        view = c.members_of(c.voter_nodes[0])
        victim = next(m["id"] for m in view["members"] if m["name"] == name)
        node = c.members[name]
        t0 = time.monotonic()
        node.kill(signal.SIGKILL if self.mode == "kill" else signal.SIGSTOP)
        wait_for(f"member {name} removed at every watcher",
                 lambda: all(w.last() and victim not in ids(w.last()) for w in watchers),
                 timeout=30 + 10 * interval_ms / 1000, interval=0.005)
        seen = [removal_arrival(w.snapshot(), victim) for w in watchers]
        self.took.append(max(seen) - t0)
        node.kill(signal.SIGKILL)
        node.wait()
        # A fresh process under the same name (a new incarnation, a new id).
        del c.members[name]
        c.add_member(name)
        wait_for(f"{name} back", lambda: name in c.names_in_view(c.voter_nodes[0]), timeout=30)

    def cleanup(self):
        if self.load:
            self.load.kill()
        self.c.cleanup()


def measure(interval_ms, mode, kills, members, settle_intervals, security, load=0):
    """{security: [seconds]}: one cluster per security setting, all up at once, and their kills
    interleaved (round k kills one member in each, in an order that alternates), so that every
    setting sees the same machine load."""
    runs = {}
    try:
        for sec in security:
            runs[sec] = Run(interval_ms, mode, members, settle_intervals, secure=(sec == "on"), load=load)
        for k in range(kills):
            order = security if k % 2 == 0 else list(reversed(security))
            for sec in order:
                runs[sec].kill_one()
        return {sec: r.took for sec, r in runs.items()}
    finally:
        for r in runs.values():
            r.cleanup()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kills", type=int, default=30)
    p.add_argument("--members", type=int, default=10)
    p.add_argument("--intervals", default="auto,50,100,1000",
                   help="heartbeat intervals, ms, or auto (no --heartbeat-interval-ms: the default)")
    p.add_argument("--modes", default="kill,stop")
    p.add_argument("--load", type=int, default=0,
                   help="this many more members played by scale_load (plaintext only), for a large cluster")
    p.add_argument("--settle-intervals", type=float, default=12,
                   help="heartbeat intervals to wait before each kill (the new member's detectors settle)")
    p.add_argument("--security", default="off",
                   help="CURVE off, on, or off,on: every setting is measured in the same run, interleaved")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.json"))
    a = p.parse_args()
    results = {"command": command_line(), "machine": machine(), "rows": []}
    security = [x.strip() for x in a.security.split(",")]
    assert all(x in ("off", "on") for x in security), "--security takes off, on or off,on"
    for interval in [x if x == "auto" else int(x) for x in a.intervals.split(",")]:
        for mode in a.modes.split(","):
            took = measure(interval, mode, a.kills, a.members, a.settle_intervals, security, a.load)
            for sec in security:
                s = summary(took[sec])
                results["rows"].append({"heartbeat_ms": interval, "mode": mode, "curve": sec,
                                        "members": a.members + a.load + 3, **s})
                print(f"heartbeat {interval} ms, {mode}, CURVE {sec}: median {ms(s['median'])} ms over {s['n']}",
                      flush=True)
            save(a.out, results)
    rows = [[r["heartbeat_ms"], r.get("members", "-"), "SIGKILL" if r["mode"] == "kill" else "SIGSTOP", r.get("curve", "off"), r["n"],
             ms(r["min"]), ms(r["median"]), ms(r["p90"]), ms(r["p99"]), ms(r["max"])] for r in results["rows"]]
    print(f"\ncommand: {results['command']}\nmachine: {results['machine']}\n")
    print(table(["heartbeat ms", "members", "failure", "CURVE", "kills", "min ms", "median ms", "p90 ms", "p99 ms", "max ms"],
                rows))

if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Fan-out: 1,000 subscribers on one rosterd, and how long a committed view takes to reach the
last of them.

A 3-voter cluster on loopback; --processes `fanout_sub` processes open --subscribers SUB sockets
in all, every one connected to the publish socket of the same voter. `commit_probe` then commits
view changes one by one (a join that replaces the previous instance), and for each view the time
is taken from the commit (the moment the probe receives the leader's OK, which the leader sends
once the change is applied and published) to the arrival at each subscriber (CLOCK_MONOTONIC, one
clock for every process). Only views that reached every subscriber count.

    /usr/bin/python3 bench/fanout/run.py [--subscribers 1000] [--processes 4] [--views 50]
"""

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "pylib"))
from rosterkit.cluster import Cluster  # noqa: E402
from rosterkit.machine import machine  # noqa: E402
from rosterkit.metrics import scrape, total  # noqa: E402
from rosterkit.paths import binary  # noqa: E402
from rosterkit.procs import Proc  # noqa: E402
from rosterkit.report import command_line, save, table  # noqa: E402
from rosterkit.stats import percentile, summary  # noqa: E402
from rosterkit.waiting import wait_for  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--processes", type=int, default=4)
    ap.add_argument("--views", type=int, default=50)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.json"))
    a = ap.parse_args()
    c = Cluster(voter_args=["--join-settle-ms", "0"])
    try:
        c.start_voters()
        c.wait_formed(["v1", "v2", "v3"])
        leader = wait_for("a leader", c.leader_voter)
        target = c.voter_nodes[0]
        per = a.subscribers // a.processes
        seconds = 8 + a.views * 0.2
        subs = [Proc([binary("fanout_sub"), "--publish", target.publish, "--sockets", str(per), "--seconds",
                      str(seconds)], capture=True) for _ in range(a.processes)]
        started = time.monotonic()
        # PUB drops views to subscribers that are not connected yet: wait for all the connections.
        wait_for(f"{per * a.processes} subscribers connected to {target.name}",
                 lambda: (total(scrape(target.metrics), "roster_subscribers_connected") or 0) >= per * a.processes,
                 timeout=60, interval=0.1)
        probe = subprocess.run([binary("commit_probe"), "--voters", leader.listen, "--count",
                                str(a.views), "--interval-ms", "150"], capture_output=True, text=True, timeout=300)
        commits = {}
        for line in probe.stdout.splitlines():
            if line.startswith("ok"):
                _, sent, answered, view = line.split()
                commits[int(view)] = int(answered)
        arrivals = {}
        for s in subs:
            for line in s.communicate(timeout=seconds + 60):
                _, view, n, first, p50, p99, last = line.split()
                v = arrivals.setdefault(int(view), {"n": 0, "first": [], "last": []})
                v["n"] += int(n)
                v["first"].append(int(first))
                v["last"].append(int(last))
        complete = {v: d for v, d in arrivals.items() if d["n"] == per * a.processes and v in commits}
        last = [(max(d["last"]) - commits[v]) / 1e9 for v, d in complete.items()]
        first = [(min(d["first"]) - commits[v]) / 1e9 for v, d in complete.items()]
        res = {"command": command_line(), "machine": machine(), "subscribers": per * a.processes,
               "processes": a.processes, "views_committed": len(commits), "views_complete": len(complete),
               "to_last_subscriber": summary(last), "to_first_subscriber": summary(first)}
        save(a.out, res)
        print(f"command: {res['command']}\nmachine: {res['machine']}\n")
        print(table(["from commit to", "views", "p50 ms", "p99 ms", "max ms"],
                    [[f"the first of {res['subscribers']} subscribers", len(first),
                      f"{percentile(first, 50) * 1000:.2f}", f"{percentile(first, 99) * 1000:.2f}",
                      f"{max(first) * 1000:.2f}"],
                     [f"the last of {res['subscribers']} subscribers", len(last),
                      f"{percentile(last, 50) * 1000:.2f}", f"{percentile(last, 99) * 1000:.2f}",
                      f"{max(last) * 1000:.2f}"]]))
        print(f"\n{len(complete)} of {len(commits)} committed views reached every subscriber "
              f"({a.processes} processes of {per} SUB sockets; {time.monotonic() - started:.0f} s)")
    finally:
        c.cleanup()


if __name__ == "__main__":
    main()

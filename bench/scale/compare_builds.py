#!/usr/bin/env python3
"""Each voter's CPU and memory growth at N members, for comparing two builds of roster on one machine.

A smaller cousin of run.py that runs with the binaries ROSTER_BIN names (rosterkit.paths), so an
older commit built in another work tree can be measured beside the current one, alternately:

    git worktree add /tmp/old <commit> && cmake -S /tmp/old -B /tmp/old/build && \\
        cmake --build /tmp/old/build --target rosterd scale_load rosterctl
    ROSTER_BIN=/tmp/old/build/bin /usr/bin/python3 bench/scale/compare_builds.py --members 10000
    /usr/bin/python3 bench/scale/compare_builds.py --members 10000 -- --max-members 10100

Voters at 1 s heartbeats (--heartbeat-interval-ms 1000, a flag every build has), scale_load's
members joined over --sockets sockets per voter, then --seconds of heartbeats after 10 s to settle.
Builds from before ROSTER_JOIN_BUDGET (issue 17) admit 20 joins per connection and then 10 a
second: build them with the two constants of daemon/transport.cc raised, or use enough sockets.
Arguments after -- go to every voter.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "pylib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rosterkit.cluster import Cluster  # noqa: E402
from rosterkit.paths import BIN  # noqa: E402
from rosterkit.waiting import wait_for  # noqa: E402
from run import cpu_seconds, metric, rss_bytes, start_load  # noqa: E402  (bench/scale/run.py)


def heartbeats(c):
    return {v.name: metric(v, "roster_heartbeats_received_total") for v in c.voter_nodes}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=10000)
    ap.add_argument("--sockets", type=int, default=5, help="scale_load's sockets per voter")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("voter_args", nargs="*", help="after --: arguments for every voter")
    a = ap.parse_args()
    os.environ.setdefault("ROSTER_JOIN_BUDGET", f"{a.members}/{a.members}")  # builds that read it
    c = Cluster(heartbeat_ms=1000, voter_args=a.voter_args)
    try:
        c.start_voters()
        c.wait_formed(["v1", "v2", "v3"])
        leader = wait_for("a leader", c.leader_voter)
        pids = {v.name: v.proc.pid for v in c.voter_nodes}
        rss0 = {k: rss_bytes(p) for k, p in pids.items()}
        load = start_load(c, a.members, 1000, a.sockets, a.seconds + 60)
        joined = load.wait_output(lambda lines: lines and lines[0], 300, "scale_load's join line").split()
        time.sleep(10)
        cpu0 = {k: cpu_seconds(p) for k, p in pids.items()}
        hb0 = heartbeats(c)
        t0 = time.monotonic()
        time.sleep(a.seconds)
        wall = time.monotonic() - t0
        hb = heartbeats(c)
        print(f"binaries: {BIN}; {joined[1]} of {a.members} members joined; leader {leader.name}")
        for name, pid in sorted(pids.items()):
            rss = rss_bytes(pid)
            print(f"{name}: {(cpu_seconds(pid) - cpu0[name]) / wall:.3f} cores, "
                  f"{(hb[name] - hb0[name]) / wall:.0f} heartbeats/s, RSS {rss0[name] / 2**20:.0f} -> {rss / 2**20:.0f} MiB "
                  f"({(rss - rss0[name]) / a.members:.0f} bytes per member)")
        load.kill()
    finally:
        c.cleanup()


if __name__ == "__main__":
    main()

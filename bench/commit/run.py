#!/usr/bin/env python3
"""Commit: how long one membership change takes to commit, next to the physical limits measured in
the same run (fdatasync of the voters' disk, a ZeroMQ round trip on loopback); and how long views
stop flowing when the consensus leader is killed.

A 3-voter cluster on loopback with its data on the machine's disk. `commit_probe` joins a member
with a new incarnation again and again (each join replaces the previous instance: one view change
per attempt), sending each request to every voter; the time is from sending to the leader's OK,
which it sends once the change is committed (on a majority of disks) and applied. The voters run
with --join-settle-ms 0 here, so that the batching window does not hide the commit path; the
failover part keeps the defaults.

    /usr/bin/python3 bench/commit/run.py [--count 500] [--failovers 10]
"""

import argparse
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "pylib"))
from rosterkit.cluster import Cluster  # noqa: E402
from rosterkit.machine import machine  # noqa: E402
from rosterkit.paths import binary  # noqa: E402
from rosterkit.procs import Proc  # noqa: E402
from rosterkit.report import command_line, save, table  # noqa: E402
from rosterkit.stats import summary  # noqa: E402
from rosterkit.waiting import wait_for  # noqa: E402


def fdatasync_latencies(directory, n=500):
    """Overwrite 4 KiB of a preallocated file and fdatasync it, n times (the disk's floor)."""
    path = os.path.join(directory, "fdatasync.probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, b"x" * 4096)
        os.fsync(fd)
        out = []
        for _ in range(n):
            t = time.monotonic()
            os.pwrite(fd, b"y" * 4096, 0)
            os.fdatasync(fd)
            out.append(time.monotonic() - t)
        return out
    finally:
        os.close(fd)
        os.unlink(path)


def commit_time(line):
    """The time (s, CLOCK_MONOTONIC) at which commit_probe had the leader's OK, from its "ok" lines."""
    return int(line.split()[2]) / 1e9 if line.startswith("ok") else None


def probe(c, *args):
    """commit_probe against the live voters in the background; its lines are commit times."""
    voters = ",".join(v.listen for v in c.voter_nodes if v.alive())
    return Proc([binary("commit_probe"), "--voters", voters] + list(args), capture=True, parse=commit_time)


def commit_latency(count):
    c = Cluster(voter_args=["--join-settle-ms", "0"])
    try:
        c.start_voters()
        c.wait_formed(["v1", "v2", "v3"])
        wait_for("a leader", c.leader_voter)
        leader = c.leader_voter()
        # Round trips to the leader, then the commits.
        p = subprocess.run([binary("commit_probe"), "--voters", leader.listen, "--rtt", "500",
                            "--count", str(count)], capture_output=True, text=True, timeout=600)
        rtt = [int(line.split()[1]) / 1e9 for line in p.stdout.splitlines() if line.startswith("rtt")]
        commits = [(int(line.split()[2]) - int(line.split()[1])) / 1e9 for line in p.stdout.splitlines()
                   if line.startswith("ok")]
        timeouts = sum(1 for line in p.stdout.splitlines() if line.startswith("timeout"))
        sync = fdatasync_latencies(os.path.join(c.dir, "v1"))
        return commits, rtt, sync, timeouts
    finally:
        c.cleanup()


def failover(trials):
    c = Cluster()
    gaps = []
    try:
        c.start_voters()
        c.wait_formed(["v1", "v2", "v3"])
        for _ in range(trials):
            leader = wait_for("a leader", c.leader_voter, timeout=30)
            p = probe(c, "--count", "0", "--interval-ms", "10", "--timeout-ms", "300")
            wait_for("commits flowing", lambda: len(p.snapshot()) >= 5, timeout=30)
            killed = time.monotonic()
            leader.kill(signal.SIGKILL)
            leader.wait()
            wait_for("a commit after the kill", lambda: any(x > killed for x in p.snapshot()), timeout=30,
                     interval=0.01)
            gaps.append(min(x for x in p.snapshot() if x > killed) - killed)
            p.kill()
            leader.start()
            wait_for("the killed voter back in the view",
                     lambda: leader.name in c.names_in_view(leader) and
                     len(c.names_in_view(leader)) >= 3, timeout=30)
        return gaps
    finally:
        c.cleanup()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--failovers", type=int, default=10)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.json"))
    a = ap.parse_args()
    commits, rtt, sync, timeouts = commit_latency(a.count)
    gaps = failover(a.failovers) if a.failovers else []
    res = {"command": command_line(), "machine": machine(), "commit": summary(commits), "rtt": summary(rtt),
           "fdatasync": summary(sync), "timeouts": timeouts}
    if gaps:
        res["failover"] = summary(gaps)
    floor = res["fdatasync"]["median"] + 2 * res["rtt"]["median"]
    res["floor"] = floor
    save(a.out, res)

    def us(x):
        return f"{x * 1e6:.0f}"
    print(f"command: {res['command']}\nmachine: {res['machine']}\n")
    rows = [["commit of one view change (3 voters)", res["commit"]["n"], us(res["commit"]["median"]),
             us(res["commit"]["p90"]), us(res["commit"]["p99"])],
            ["fdatasync 4 KiB (same disk)", res["fdatasync"]["n"], us(res["fdatasync"]["median"]),
             us(res["fdatasync"]["p90"]), us(res["fdatasync"]["p99"])],
            ["ZeroMQ round trip to a voter (loopback)", res["rtt"]["n"], us(res["rtt"]["median"]),
             us(res["rtt"]["p90"]), us(res["rtt"]["p99"])]]
    print(table(["what", "n", "median µs", "p90 µs", "p99 µs"], rows))
    print(f"\nfloor = fdatasync + two round trips = {us(floor)} µs; commit median is "
          f"{res['commit']['median'] / floor:.2f}x the floor (aim: within 2x). Timeouts: {timeouts}.")
    if gaps:
        f = res["failover"]
        print(f"\nleader killed with SIGKILL, {f['n']} times: the next view committed after median "
              f"{f['median'] * 1000:.0f} ms, p90 {f['p90'] * 1000:.0f} ms, max {f['max'] * 1000:.0f} ms")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Scale: N members at 1 s heartbeats on one 3-voter cluster, and a bootstrap of many at once.

`scale_load` plays N members over a few sockets with the protocol of real members: it joins them
all, then sends every member's heartbeat to every voter once per interval, spread evenly. While it
runs, this script reads each voter's CPU time and resident memory from /proc, its heartbeat counter
from /metrics, and times view commits with `commit_probe` (each includes the 50 ms join settle
window; the Raft commit alone is in roster_raft_commit_latency_seconds, reported too).

Bootstrap: N members join at once (`scale_load --join-only`); the time from the first join sent to
the last answered, and how many views it took.

    /usr/bin/python3 bench/scale/run.py [--members 1000,10000] [--seconds 60] [--bootstrap 2000]
"""

import argparse
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "pylib"))
from rosterkit.cluster import Cluster, adaptive_interval_ms  # noqa: E402
from rosterkit.machine import machine  # noqa: E402
from rosterkit.metrics import scrape, total  # noqa: E402
from rosterkit.paths import binary  # noqa: E402
from rosterkit.procs import Proc  # noqa: E402
from rosterkit.report import command_line, save, table  # noqa: E402
from rosterkit.stats import summary  # noqa: E402
from rosterkit.waiting import GiveUp, wait_for  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1)) * 1024


def metric(node, name):
    """The sum of a metric's samples on a node (0 if it has none)."""
    return total(scrape(node.metrics), name) or 0.0


def histogram_quantile(node, name, q):
    """A quantile from a Prometheus histogram's cumulative buckets (upper bound of the bucket)."""
    text = scrape(node.metrics)
    buckets = sorted((float("inf") if m.group(1) == "+Inf" else float(m.group(1)), float(m.group(2)))
                     for m in re.finditer(name + r'_bucket\{[^}]*le="([^"]+)"\} (\S+)', text))
    if not buckets or buckets[-1][1] == 0:
        return None
    for le, count in buckets:
        if count >= q * buckets[-1][1]:
            return le
    return None


def voter_args_for(n):
    """What rosterd needs to hold n load members: room in its views (--max-members, default
    10,000), and a join budget per connection of n (ROSTER_JOIN_BUDGET, set in main): the load plays
    thousands of members over each socket, where each real member has its own connection and key
    and the default budget (20 at once, 10 a second) would admit a few hundred a minute."""
    return ["--max-members", str(max(10_000, n + 100))]


def start_load(c, n, interval_ms, sockets, seconds):
    """scale_load playing n members of cluster c over `sockets` sockets per voter, heartbeating
    every interval_ms for `seconds` after they joined; its first line says how the joins went."""
    voters = ",".join(v.listen for v in c.voter_nodes)
    return Proc([binary("scale_load"), "--voters", voters, "--members", str(n), "--interval-ms", str(interval_ms),
                 "--sockets", str(sockets), "--seconds", str(seconds)], capture=True)


def run_load(n, seconds, sockets, interval="1000"):
    """interval: ms, or "auto" (rosterd's default: no --heartbeat-interval-ms on the voters, and
    the load heartbeats at the level of the cluster's size, as real members would)."""
    interval_ms = adaptive_interval_ms(n + 3) if interval == "auto" else int(interval)
    c = Cluster(heartbeat_ms=None if interval == "auto" else interval_ms, voter_args=voter_args_for(n))
    try:
        c.start_voters()
        c.wait_formed(["v1", "v2", "v3"])
        leader = wait_for("a leader", c.leader_voter)
        pids = {v.name: v.proc.pid for v in c.voter_nodes}
        rss0 = {k: rss_bytes(p) for k, p in pids.items()}
        voters = ",".join(v.listen for v in c.voter_nodes)
        # Sockets: a real member has its own connection; the load shares one per ~2000 members
        # (a voter's reply queue to one peer holds 1000 messages, and a view of thousands of joins
        # answers them all at once).
        sockets = sockets or max(4, n // 2000)
        load = start_load(c, n, interval_ms, sockets, seconds + 30)
        try:
            joined = load.wait_output(lambda lines: lines and lines[0], 600, "scale_load's first line").split()
        except GiveUp:  # it exited without a word
            joined = []
        if not joined or joined[0] != "joined" or int(joined[1]) != n:
            load.kill()
            raise RuntimeError(f"not every member joined: {' '.join(joined) or 'no answer'}")
        bootstrap = (int(joined[3]) - int(joined[2])) / 1e9
        rejoins = int(joined[4])
        wait_for(f"{n} members in the view", lambda: c.members_of(leader)["view_id"] and
                 len(c.members_of(leader)["members"]) >= n + 3, timeout=120, interval=0.5)
        time.sleep(10)  # let heartbeats reach their steady rhythm before measuring
        cpu0 = {k: cpu_seconds(p) for k, p in pids.items()}
        hb0 = {v.name: metric(v, "roster_heartbeats_received_total") for v in c.voter_nodes}
        t0 = time.monotonic()
        probe = subprocess.run([binary("commit_probe"), "--voters", voters, "--count", "30",
                                "--interval-ms", "200"], capture_output=True, text=True, timeout=seconds + 60)
        rest = seconds - (time.monotonic() - t0)
        if rest > 0:
            time.sleep(rest)
        wall = time.monotonic() - t0
        cpu = {k: (cpu_seconds(p) - cpu0[k]) / wall for k, p in pids.items()}
        hbs = {v.name: metric(v, "roster_heartbeats_received_total") - hb0[v.name] for v in c.voter_nodes}
        rss = {k: rss_bytes(p) for k, p in pids.items()}
        suspected = metric(leader, "roster_members_suspected")
        in_view = len(c.members_of(leader)["members"]) - 3
        commits = [(int(x.split()[2]) - int(x.split()[1])) / 1e9 for x in probe.stdout.splitlines()
                   if x.startswith("ok")]
        raft_p50 = histogram_quantile(leader, "roster_raft_commit_latency_seconds", 0.5)
        raft_p99 = histogram_quantile(leader, "roster_raft_commit_latency_seconds", 0.99)
        load.kill()
        return {"members": n, "interval_ms": interval_ms, "bootstrap_s": bootstrap, "wall_s": wall,
                "cpu_cores": cpu, "heartbeats_per_s": {k: v / wall for k, v in hbs.items()},
                "us_per_heartbeat": {k: cpu[k] * 1e6 / (hbs[k] / wall) for k in cpu if hbs[k] > 0},
                "rss_bytes": rss, "rss_per_member": {k: (rss[k] - rss0[k]) / n for k in rss},
                "suspected_at_leader": suspected, "members_in_view_at_end": in_view, "leader": leader.name,
                "sockets_per_voter": sockets, "join_s": bootstrap, "rejoins": rejoins,
                "commit": summary(commits) if commits else None, "raft_commit_p50": raft_p50,
                "raft_commit_p99": raft_p99}
    finally:
        c.cleanup()


def bootstrap(n):
    c = Cluster(heartbeat_ms=None, voter_args=voter_args_for(n))
    try:
        c.start_voters()
        c.wait_formed(["v1", "v2", "v3"])
        leader = wait_for("a leader", c.leader_voter)
        before = c.members_of(leader)["view_id"]
        voters = ",".join(v.listen for v in c.voter_nodes)
        out = subprocess.run([binary("scale_load"), "--voters", voters, "--members", str(n),
                              "--join-only"], capture_output=True, text=True, timeout=300).stdout.split()
        took = (int(out[3]) - int(out[2])) / 1e9
        wait_for("the full view", lambda: len(c.members_of(leader)["members"]) >= n + 3, timeout=60)
        views = c.members_of(leader)["view_id"] - before
        return {"members": n, "joined": int(out[1]), "seconds": took, "views": views}
    finally:
        c.cleanup()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", default="1000,10000")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--sockets", type=int, default=0, help="sockets per voter (0: max(4, members / 2000))")
    ap.add_argument("--bootstrap", type=int, default=2000)
    ap.add_argument("--interval-ms", default="1000",
                    help="the members' heartbeat interval, or auto (rosterd's default: it adapts to the size)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.json"))
    a = ap.parse_args()
    sizes = [int(x) for x in a.members.split(",")] if a.members else []
    most = max(sizes + [a.bootstrap or 0])
    os.environ["ROSTER_JOIN_BUDGET"] = f"{most}/{most}"  # voter_args_for says why
    res = {"command": command_line(), "machine": machine(), "load": [], "bootstrap": None}
    res["failed"] = []
    for n in sizes:
        try:
            r = run_load(n, a.seconds, a.sockets, a.interval_ms)
        except Exception as e:  # a size that does not hold is a result, not a crash of the benchmark
            res["failed"].append({"members": n, "why": str(e)})
            save(a.out, res)
            print(f"{n} members: did not hold: {e}", flush=True)
            continue
        res["load"].append(r)
        save(a.out, res)
        print(f"{n} members: leader {r['leader']} at {r['cpu_cores'][r['leader']]:.3f} cores", flush=True)
    if a.bootstrap:
        res["bootstrap"] = bootstrap(a.bootstrap)
        save(a.out, res)
    print(f"\ncommand: {res['command']}\nmachine: {res['machine']}\n")
    rows = []
    for r in res["load"]:
        for v in sorted(r["cpu_cores"]):
            rows.append([f"{r['members']} @ {r.get('interval_ms', 1000)} ms", v + (" (leader)" if v == r["leader"] else ""), f"{r['cpu_cores'][v]:.3f}",
                         f"{r['heartbeats_per_s'][v]:.0f}", f"{r['us_per_heartbeat'].get(v, 0):.1f}",
                         f"{r['rss_bytes'][v] / 2**20:.1f}", f"{r['rss_per_member'][v]:.0f}"])
    print(table(["members", "voter", "CPU (cores)", "heartbeats/s", "CPU µs per heartbeat", "RSS MiB",
                 "RSS bytes per member"], rows))
    print()
    print(table(["members", "view commit p50 ms (incl. 50 ms join settle)", "p99 ms", "Raft commit p50 ≤ ms",
                 "Raft commit p99 ≤ ms", "suspected at the leader", "members in the view at the end",
                 "all joined in s", "joins retried as new incarnations"],
                [[r["members"], f"{r['commit']['median'] * 1000:.1f}" if r["commit"] else "-",
                  f"{r['commit']['p99'] * 1000:.1f}" if r["commit"] else "-",
                  f"{(r['raft_commit_p50'] or 0) * 1000:.1f}", f"{(r['raft_commit_p99'] or 0) * 1000:.1f}",
                  int(r["suspected_at_leader"]), r["members_in_view_at_end"], f"{r['join_s']:.1f}",
                  r["rejoins"]] for r in res["load"]]))
    for f in res["failed"]:
        print(f"\n{f['members']} members did not hold: {f['why']}")
    if res["bootstrap"]:
        b = res["bootstrap"]
        print(f"\nbootstrap: {b['joined']} of {b['members']} members joining at once, all answered in "
              f"{b['seconds']:.2f} s through {b['views']} views")


if __name__ == "__main__":
    main()

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

--security (issue 13): off (the default) is the run above. on or off,on measures instead with a
Python client (pyzmq, rosterkit's wire module), since commit_probe speaks no CURVE: one cluster
per setting, all up at once, Cluster(secure=...) (the probe's key authorized as `member probe`);
round k sends one join to each cluster's leader in turn (alternating which goes first) and waits
for the leader's OK, then pauses --pace-ms (rosterd admits 10 joins a second per key after a
burst of 20, docs/security.md). Round trips are status requests to the leader over the same
connection, interleaved the same way. Every setting is measured by the same client, so the
difference between the rows is CURVE; the client's own cost (Python) is in every row. No
failovers in this mode.

--trace 1 (the default) runs another cluster whose voters trace the commit path
(ROSTER_TRACE_COMMITS, daemon/commit_trace.hh) and prints where the time goes, hop by hop:
the probe's join reaching the leader, the leader's appends leaving, the first follower to
acknowledge reading, writing and acknowledging them, the leader reading the acknowledgement,
committing, applying and answering, the probe reading the answer; and the leader's own write
beside them. --compare-early 1 (the default) measures also with the leader's appends held until
its own write is done (ROSTER_EARLY_APPENDS=0, as before Raft thesis §10.2.1 was followed).
--tmpfs 1 (the default) measures also with the voters' data on tmpfs (/dev/shm), where fdatasync
returns at once: what remains is the processes and their wake-ups, and the difference is the disk.

    /usr/bin/python3 bench/commit/run.py [--count 500] [--failovers 10] [--trace 1] [--compare-early 1]
                                         [--tmpfs 1] [--security off|on|off,on]
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "pylib"))
from rosterkit import wire  # noqa: E402
from rosterkit.cluster import Cluster  # noqa: E402
from rosterkit.link import Link, request_id  # noqa: E402
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


def commit_latency(count, trace_dir=None, voter_args=(), early_appends=True, tmpfs=False):
    """(commits, rtt, sync, timeouts, hops): with trace_dir, the voters trace the commit path
    (ROSTER_TRACE_COMMITS) and hops is the per-hop split of each commit (see per_hop). Without
    early_appends the leader's appends wait for its own write (ROSTER_EARLY_APPENDS=0), as before.
    tmpfs: the voters' data (and the fdatasync probe) in /dev/shm, where fdatasync returns at once."""
    if trace_dir:
        os.environ["ROSTER_TRACE_COMMITS"] = os.path.join(trace_dir, "trace")
    if not early_appends:
        os.environ["ROSTER_EARLY_APPENDS"] = "0"
    workdir = tempfile.mkdtemp(prefix="roster-commit-", dir="/dev/shm") if tmpfs else None
    c = Cluster(voter_args=["--join-settle-ms", "0"] + list(voter_args), workdir=workdir)
    try:
        c.start_voters()
        os.environ.pop("ROSTER_TRACE_COMMITS", None)
        os.environ.pop("ROSTER_EARLY_APPENDS", None)
        c.wait_formed(["v1", "v2", "v3"])
        wait_for("a leader", c.leader_voter)
        leader = c.leader_voter()
        # Round trips to the leader, then the commits.
        p = subprocess.run([binary("commit_probe"), "--voters", leader.listen, "--rtt", "500",
                            "--count", str(count)], capture_output=True, text=True, timeout=600)
        rtt = [int(line.split()[1]) / 1e9 for line in p.stdout.splitlines() if line.startswith("rtt")]
        oks = [(int(line.split()[1]), int(line.split()[2])) for line in p.stdout.splitlines()
               if line.startswith("ok")]
        commits = [(b - a) / 1e9 for a, b in oks]
        timeouts = sum(1 for line in p.stdout.splitlines() if line.startswith("timeout"))
        sync = fdatasync_latencies(os.path.join(c.dir, "v1"))
        hops = None
        if trace_dir:
            time.sleep(1.5)  # each voter writes what its trace gathered at least every second
            c.stop()
            traces = {v.name: load_trace(os.path.join(trace_dir, "trace." + v.name)) for v in c.voter_nodes}
            hops = per_hop(oks, traces, leader.name)
        return commits, rtt, sync, timeouts, hops
    finally:
        os.environ.pop("ROSTER_TRACE_COMMITS", None)
        os.environ.pop("ROSTER_EARLY_APPENDS", None)
        c.cleanup()  # removes workdir too, unless the logs are kept (ROSTER_KEEP_LOGS)


def load_trace(path):
    """A voter's ROSTER_TRACE_COMMITS file (daemon/commit_trace.hh) as [(ns, event, peer, index)]."""
    out = []
    with open(path) as f:
        for line in f:
            t, event, peer, index = line.split()
            out.append((int(t), event, int(peer), int(index)))
    return out


# The hops of one commit, in order; each is the time from the previous point to this one.
HOPS = [
    ("request", "the probe's join read by the leader"),
    ("propose", "leader: proposed, appends sent to the followers"),
    ("to_follower", "append read by the first follower to acknowledge"),
    ("follower_write", "follower: entry written (SQLite, fdatasync)"),
    ("follower_ack", "follower: acknowledgement sent"),
    ("to_leader", "acknowledgement read by the leader"),
    ("commit_apply", "leader: committed, applied, answer sent"),
    ("answer", "answer read by the probe"),
]


def per_hop(oks, traces, leader_name):
    """For each (sent_ns, ok_ns) of commit_probe, the hop durations (s) from the voters' traces:
    {hop: [...]} with the hops of HOPS, plus the leader's own write (leader_write, in parallel with
    the hops from propose to to_leader) and whether it ended before the first follower's write
    (leader_write_first). Commits whose events cannot all be found are left out (counted in
    "unmatched")."""
    by_voter = traces
    lead = by_voter[leader_name]
    name_of = {int(name.lstrip("v")): name for name in by_voter}  # rosterkit names voter N "vN"

    out = {h: [] for h, _ in HOPS}
    out.update({"leader_write": [], "leader_write_first": [], "unmatched": 0, "total": [], "why": {},
                "leader_tail": [], "leader_busy_at_request": []})

    def miss(why):
        out["unmatched"] += 1
        out["why"][why] = out["why"].get(why, 0) + 1

    def first(events, start, pred):
        for e in events:
            if e[0] >= start and pred(e):
                return e
        return None

    last_index = 0
    prev_tail_end = None  # when the leader's loop finished the turn of the previous answer
    for sent, ok in oks:
        r_in = first(lead, sent, lambda e: e[1] == "request_in")
        send = r_in and first(lead, r_in[0], lambda e: e[1].startswith("append_out") and e[3] > last_index)
        if not send or send[0] > ok:
            miss("no append sent between the request and the answer")
            continue
        i = send[3]
        last_index = i
        ack_in = first(lead, send[0], lambda e: e[1] == "ack_in" and e[3] >= i)
        reply = ack_in and first(lead, ack_in[0], lambda e: e[1] == "reply_out")
        lw0 = first(lead, r_in[0], lambda e: e[1] == "save_begin" and e[3] >= i)
        lw1 = lw0 and first(lead, lw0[0], lambda e: e[1] == "save_end" and e[3] >= i)
        if not (ack_in and reply and lw1) or reply[0] > ok:
            miss("no acknowledgement, answer or write of the leader before the answer")
            continue
        f = by_voter[name_of[ack_in[2]]]
        f_in = first(f, send[0], lambda e: e[1] == "append_in" and e[3] >= i)
        f_w = f_in and first(f, f_in[0], lambda e: e[1] == "save_end" and e[3] >= i)
        f_ack = f_w and first(f, f_w[0], lambda e: e[1] == "ack_out" and e[3] >= i)
        if not f_ack or f_ack[0] > ack_in[0]:
            miss("the follower's events do not precede the acknowledgement")
            continue
        points = [sent, r_in[0], send[0], f_in[0], f_w[0], f_ack[0], ack_in[0], reply[0], ok]
        for (h, _), a, b in zip(HOPS, points, points[1:]):
            out[h].append((b - a) / 1e9)
        out["total"].append((ok - sent) / 1e9)
        out["leader_write"].append((lw1[0] - lw0[0]) / 1e9)
        out["leader_write_first"].append(lw1[0] <= f_w[0])
        # step_end (traces of rosterd from issue 17 on): the rest of the leader's turn after the
        # answer (logging, views, HTTP documents, the commit index written), and how much of it
        # the next request found still going.
        tail = first(lead, reply[0], lambda e: e[1] == "step_end")
        if tail:
            out["leader_tail"].append((tail[0] - reply[0]) / 1e9)
            if prev_tail_end is not None:
                out["leader_busy_at_request"].append(max(0, prev_tail_end - sent) / 1e9)
            prev_tail_end = tail[0]
    return out


def hop_table(hops):
    rows = []
    total = summary(hops["total"])["median"]
    for h, what in HOPS:
        s = summary(hops[h])
        rows.append([what, us(s["median"]), us(s["p90"]), f"{100 * s['median'] / total:.0f} %"])
    rows.append(["**total** (probe's send to its receipt of the answer)", us(total),
                 us(summary(hops["total"])["p90"]), "100 %"])
    if hops.get("leader_tail"):
        s = summary(hops["leader_tail"])
        rows.append(["(after the answer) the rest of the leader's turn: logging, views, HTTP documents, "
                     "commit index written", us(s["median"]), us(s["p90"]), ""])
    if hops.get("leader_busy_at_request"):
        s = summary(hops["leader_busy_at_request"])
        rows.append(["(in the first hop) the leader still in that turn when the probe sent its next join",
                     us(s["median"]), us(s["p90"]), ""])
    lw = summary(hops["leader_write"])
    first = sum(hops["leader_write_first"])
    rows.append([f"(in parallel) leader's own write; done before the follower's in {first} of "
                 f"{len(hops['leader_write_first'])}", us(lw["median"]), us(lw["p90"]), ""])
    return table(["hop (each from the end of the previous)", "median µs", "p90 µs", "of the median total"], rows)


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


class PyProbe:
    """A client of one cluster's leader (CURVE when the cluster is secured): timed joins of the
    member `probe` with a new incarnation each (each replaces the previous instance), and timed
    status requests."""

    def __init__(self, secure, voter_args):
        self.c = c = Cluster(voter_args=voter_args, secure=secure)
        self.key = c.member_key("probe") if secure else None
        c.start_voters()
        c.wait_formed(["v1", "v2", "v3"])
        self.leader = wait_for("a leader", c.leader_voter)
        self.link = Link(self.leader.listen, self.key, c.server_key(self.leader))
        if secure:
            assert self.link.handshake() == "ok", self.link.outcomes()
        self.incarnation = int(time.time() * 1e6)
        self.commits, self.rtt, self.failed = [], [], 0

    def _ask(self, data, kind, rid, timeout=3.0):
        sock = self.link.sock
        t0 = time.monotonic()
        sock.send(data)
        while True:
            left = timeout - (time.monotonic() - t0)
            if left <= 0 or not sock.poll(int(left * 1000) + 1):
                return None, None
            msg = wire.decode(sock.recv())
            if msg is not None and msg[0] == kind:
                fields = wire.reply_dict(*msg)
                if fields.get("request_id") == rid:
                    return time.monotonic() - t0, fields

    def status(self):
        rid = request_id()
        took, _ = self._ask(wire.status_request(self.c.cluster, rid), "StatusReply", rid)
        if took is None:
            self.failed += 1
        else:
            self.rtt.append(took)

    def commit(self):
        rid = request_id()
        self.incarnation += 1
        took, fields = self._ask(wire.join_request(self.c.cluster, rid, "probe", self.incarnation), "JoinReply", rid)
        if took is None or fields["status"] != "ok":
            self.failed += 1
        else:
            self.commits.append(took)

    def close(self):
        self.link.close()
        self.c.cleanup()


def interleaved(count, rtts, security, pace):
    """{security: PyProbe} after `rtts` status round trips and `count` commits on each, interleaved."""
    probes = {}
    try:
        for sec in security:
            probes[sec] = PyProbe(sec == "on", ["--join-settle-ms", "0"])
        for what, n in (("status", rtts), ("commit", count)):
            for k in range(n):
                for sec in (security if k % 2 == 0 else list(reversed(security))):
                    getattr(probes[sec], what)()
                if what == "commit":
                    time.sleep(pace)
        sync = fdatasync_latencies(os.path.join(probes[security[0]].c.dir, "v1"))
        return probes, sync
    finally:
        for p in probes.values():
            p.close()


def us(x):
    return f"{x * 1e6:.0f}"


def median_difference_ci(off, on, rounds=2000, seed=13):
    """A bootstrap 95 % interval of median(on) - median(off), in the samples' unit."""
    import random
    import statistics
    rng = random.Random(seed)
    diffs = sorted(statistics.median(rng.choices(on, k=len(on))) - statistics.median(rng.choices(off, k=len(off)))
                   for _ in range(rounds))
    return diffs[int(rounds * 0.025)], diffs[int(rounds * 0.975)]


def main_security(a, security):
    probes, sync = interleaved(a.count, a.rtt, security, a.pace_ms / 1000)
    res = {"command": command_line(), "machine": machine(), "client": "python (pyzmq), one join at a time",
           "fdatasync": summary(sync), "rows": []}
    for sec in security:
        p = probes[sec]
        res["rows"].append({"curve": sec, "commit": summary(p.commits), "rtt": summary(p.rtt), "failed": p.failed,
                            "commit_samples_us": [round(x * 1e6, 1) for x in p.commits]})
    save(a.out, res)
    print(f"command: {res['command']}\nmachine: {res['machine']}\n")
    rows = []
    for r in res["rows"]:
        rows.append(["commit of one view change (3 voters)", r["curve"], r["commit"]["n"], us(r["commit"]["median"]),
                     us(r["commit"]["p90"]), us(r["commit"]["p99"])])
    for r in res["rows"]:
        rows.append(["status round trip to the leader (loopback)", r["curve"], r["rtt"]["n"], us(r["rtt"]["median"]),
                     us(r["rtt"]["p90"]), us(r["rtt"]["p99"])])
    rows.append(["fdatasync 4 KiB (same disk)", "-", res["fdatasync"]["n"], us(res["fdatasync"]["median"]),
                 us(res["fdatasync"]["p90"]), us(res["fdatasync"]["p99"])])
    print(table(["what", "CURVE", "n", "median µs", "p90 µs", "p99 µs"], rows))
    print("\nfailed or timed out: " + ", ".join(f"CURVE {r['curve']}: {r['failed']}" for r in res["rows"]))
    by = {r["curve"]: r for r in res["rows"]}
    if "on" in by and "off" in by:
        d = by["on"]["commit"]["median"] - by["off"]["commit"]["median"]
        lo, hi = median_difference_ci(by["off"]["commit_samples_us"], by["on"]["commit_samples_us"])
        res["median_difference_ms"] = {"value": d * 1e3, "ci95": [lo / 1e3, hi / 1e3]}
        save(a.out, res)
        print(f"CURVE adds {d * 1e3:.3f} ms to the median commit (bootstrap 95 % interval {lo / 1e3:.3f} to "
              f"{hi / 1e3:.3f} ms; aim: under 0.2 ms)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--failovers", type=int, default=10)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.json"))
    ap.add_argument("--security", default="off",
                    help="off (commit_probe, as before), on or off,on (a Python client, interleaved)")
    ap.add_argument("--trace", type=int, default=1,
                    help="1: also a traced run of --count commits and the per-hop table (0: not)")
    ap.add_argument("--compare-early", type=int, default=1,
                    help="1: also measure with the leader's appends sent after its own write (0: not)")
    ap.add_argument("--tmpfs", type=int, default=1,
                    help="1: also measure with the voters' data on tmpfs (/dev/shm): no disk on the path, "
                         "only the processes and their wake-ups (0: not)")
    ap.add_argument("--rtt", type=int, default=300, help="status round trips per setting (--security on)")
    ap.add_argument("--pace-ms", type=float, default=110, help="pause between rounds of joins (--security on)")
    a = ap.parse_args()
    security = [x.strip() for x in a.security.split(",")]
    assert all(x in ("off", "on") for x in security), "--security takes off, on or off,on"
    if security != ["off"]:
        return main_security(a, security)
    modes = [("early", True, False)]
    if a.compare_early:
        modes.append(("after_write", False, False))
    if a.tmpfs:
        modes.append(("tmpfs", True, True))
    runs = {}
    for key, early, tmpfs in modes:
        commits, rtt, sync, timeouts, _ = commit_latency(a.count, early_appends=early, tmpfs=tmpfs)
        run = {"commit": summary(commits), "rtt": summary(rtt), "fdatasync": summary(sync), "timeouts": timeouts}
        run["floor"] = run["fdatasync"]["median"] + 2 * run["rtt"]["median"]
        if a.trace:
            with tempfile.TemporaryDirectory(prefix="roster-trace-") as d:
                _, _, _, _, hops = commit_latency(a.count, trace_dir=d, early_appends=early, tmpfs=tmpfs)
            run["hops_samples"] = hops
            run["hops"] = {k: (summary(v) if isinstance(v, list) and v and not isinstance(v[0], bool) else v)
                           for k, v in hops.items() if k != "leader_write_first"}
            run["hops"]["leader_write_first"] = sum(hops["leader_write_first"])
        runs[key] = run
    gaps = failover(a.failovers) if a.failovers else []
    main_run = runs["early"]
    res = {"command": command_line(), "machine": machine(), **{k: v for k, v in main_run.items()
                                                               if k != "hops_samples"}}
    for k in ("after_write", "tmpfs"):
        if k in runs:
            res[k] = {x: v for x, v in runs[k].items() if x != "hops_samples"}
    if gaps:
        res["failover"] = summary(gaps)
    save(a.out, res)

    print(f"command: {res['command']}\nmachine: {res['machine']}\n")
    rows = []
    names = {"early": "commit of one view change (3 voters)",
             "after_write": "the same, appends sent after the leader's write (ROSTER_EARLY_APPENDS=0)",
             "tmpfs": "the same, the voters' data on tmpfs (no disk)"}
    for k in ("early", "after_write", "tmpfs"):
        if k in runs:
            c = runs[k]["commit"]
            rows.append([names[k], c["n"], us(c["median"]), us(c["p90"]), us(c["p99"]),
                         f"{c['median'] / runs[k]['floor']:.2f}x"])
    for k in runs:
        r = runs[k]
        tag = "" if len(runs) == 1 else f" (beside the {k.replace('_', ' ')} cluster)"
        disk = "tmpfs" if k == "tmpfs" else "same disk"
        rows.append([f"fdatasync 4 KiB ({disk}){tag}", r["fdatasync"]["n"], us(r["fdatasync"]["median"]),
                     us(r["fdatasync"]["p90"]), us(r["fdatasync"]["p99"]), ""])
        rows.append([f"ZeroMQ round trip to a voter (loopback){tag}", r["rtt"]["n"], us(r["rtt"]["median"]),
                     us(r["rtt"]["p90"]), us(r["rtt"]["p99"]), ""])
    print(table(["what", "n", "median µs", "p90 µs", "p99 µs", "of the floor"], rows))
    print(f"\nfloor = fdatasync + two round trips, measured beside each cluster: "
          f"{', '.join(us(runs[k]['floor']) + ' µs' for k in runs)}; aim: the commit median within 2x of it. "
          f"Timeouts: {', '.join(str(runs[k]['timeouts']) for k in runs)}.")
    for k in runs:
        hops = runs[k].get("hops_samples")
        if hops:
            what = {"early": "appends sent before the leader writes", "after_write": names[k],
                    "tmpfs": "the voters' data on tmpfs"}[k]
            print(f"\nwhere a commit's time goes, {what}: "
                  f"another cluster, traced (ROSTER_TRACE_COMMITS), {len(hops['total'])} commits "
                  f"({hops['unmatched']} not matched in the traces); each hop's median, so they need not add up "
                  f"to the median total\n")
            print(hop_table(hops))
    if gaps:
        f = res["failover"]
        print(f"\nleader killed with SIGKILL, {f['n']} times: the next view committed after median "
              f"{f['median'] * 1000:.0f} ms, p90 {f['p90'] * 1000:.0f} ms, max {f['max'] * 1000:.0f} ms")


if __name__ == "__main__":
    main()

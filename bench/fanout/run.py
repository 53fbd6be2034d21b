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

--security (issue 13): off (the default) is the run above. on or off,on measures instead with
Python on both ends, since fanout_sub and commit_probe speak no CURVE: pysub.py (the same
measurement as fanout_sub, pyzmq SUB sockets, with the harness's `reader` key when secured) and
joins sent from this process over pyzmq. One cluster per setting (Cluster(secure=...)), all up at
once with their subscribers; round k commits one view in each cluster in turn (alternating which
goes first), --pace-ms apart. A view's commit time is when the leader's OK arrived; its id comes
from a status request right after. Python's cost is in every row alike, so the rows differ by
CURVE (encryption on every subscriber connection, and on the join itself).

    /usr/bin/python3 bench/fanout/run.py --security off,on [--subscribers 200] [--processes 2] [--views 40]
"""

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "pylib"))
from rosterkit import wire  # noqa: E402
from rosterkit.cluster import Cluster  # noqa: E402
from rosterkit.link import Link, request_id  # noqa: E402
from rosterkit.machine import machine  # noqa: E402
from rosterkit.metrics import scrape, total  # noqa: E402
from rosterkit.paths import binary  # noqa: E402
from rosterkit.procs import Proc  # noqa: E402
from rosterkit.report import command_line, save, table  # noqa: E402
from rosterkit.stats import percentile, summary  # noqa: E402
from rosterkit.waiting import wait_for  # noqa: E402


PYSUB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pysub.py")


def gather_arrivals(subs, seconds):
    """Per view: how many subscribers got it, and the first and last arrival (ns) per process,
    from the lines each subscriber process prints when it ends."""
    arrivals = {}
    for s in subs:
        for line in s.communicate(timeout=seconds + 60):
            _, view, n, first, _p50, _p99, last = line.split()
            v = arrivals.setdefault(int(view), {"n": 0, "first": [], "last": []})
            v["n"] += int(n)
            v["first"].append(int(first))
            v["last"].append(int(last))
    return arrivals


class Side:
    """One cluster (plaintext or CURVE), its Python subscribers on voter 1, a client of its leader."""

    def __init__(self, secure, subscribers, processes, seconds):
        self.c = c = Cluster(voter_args=["--join-settle-ms", "0"], secure=secure)
        key = c.member_key("probe") if secure else None
        c.start_voters()
        c.wait_formed(["v1", "v2", "v3"])
        self.leader = wait_for("a leader", c.leader_voter)
        self.target = target = c.voter_nodes[0]
        self.per = subscribers // processes
        creds = ["--key-file", c.client_key.path, "--server-key", c.server_key(target)] if secure else []
        self.subs = [Proc([sys.executable, PYSUB, "--publish", target.publish, "--sockets", str(self.per),
                           "--seconds", str(seconds)] + creds, capture=True) for _ in range(processes)]
        self.link = Link(self.leader.listen, key, c.server_key(self.leader))
        self.incarnation = int(time.time() * 1e6)
        self.commits = {}   # view id -> ns (CLOCK_MONOTONIC) of the leader's OK
        self.failed = 0

    def wait_connected(self):
        want = self.per * len(self.subs)
        wait_for(f"{want} subscribers connected to {self.target.name}",
                 lambda: (total(scrape(self.target.metrics), "roster_subscribers_connected") or 0) >= want,
                 timeout=90, interval=0.2)

    def _ask(self, data, kind, rid, timeout=3.0):
        sock = self.link.sock
        sock.send(data)
        end = time.monotonic() + timeout
        while sock.poll(max(1, int((end - time.monotonic()) * 1000))):
            msg = wire.decode(sock.recv())
            if msg is not None and msg[0] == kind:
                fields = wire.reply_dict(*msg)
                if fields.get("request_id") == rid:
                    return time.monotonic_ns(), fields
            if time.monotonic() > end:
                break
        return None, None

    def commit(self):
        rid = request_id()
        self.incarnation += 1
        at, fields = self._ask(wire.join_request(self.c.cluster, rid, "probe", self.incarnation), "JoinReply", rid)
        if at is None or fields["status"] != "ok":
            self.failed += 1
            return
        rid = request_id()
        _, st = self._ask(wire.status_request(self.c.cluster, rid), "StatusReply", rid)
        if st is None:
            self.failed += 1
            return
        self.commits[st["view_id"]] = at

    def results(self, seconds):
        arrivals = gather_arrivals(self.subs, seconds)
        want = self.per * len(self.subs)
        complete = {v: d for v, d in arrivals.items() if d["n"] == want and v in self.commits}
        last = [(max(d["last"]) - self.commits[v]) / 1e9 for v, d in complete.items()]
        first = [(min(d["first"]) - self.commits[v]) / 1e9 for v, d in complete.items()]
        return {"subscribers": want, "processes": len(self.subs), "views_committed": len(self.commits),
                "views_complete": len(complete), "failed": self.failed,
                "to_last_subscriber": summary(last), "to_first_subscriber": summary(first)}, first, last

    def close(self):
        self.link.close()
        for s in self.subs:
            s.kill()
        self.c.cleanup()


def main_security(a, security):
    seconds = 30 + a.views * a.pace_ms / 1000 * 1.5
    sides = {}
    started = time.monotonic()
    try:
        for sec in security:
            sides[sec] = Side(sec == "on", a.subscribers, a.processes, seconds)
        for side in sides.values():
            side.wait_connected()
        for k in range(a.views):
            for sec in (security if k % 2 == 0 else list(reversed(security))):
                sides[sec].commit()
            time.sleep(a.pace_ms / 1000)
        res = {"command": command_line(), "machine": machine(), "client": "python (pysub.py, pyzmq joins)",
               "rows": []}
        table_rows = []
        for sec in security:
            r, first, last = sides[sec].results(seconds)
            res["rows"].append({"curve": sec, **r})
            for what, xs in ((f"the first of {r['subscribers']} subscribers", first),
                             (f"the last of {r['subscribers']} subscribers", last)):
                table_rows.append([what, sec, len(xs), f"{percentile(xs, 50) * 1000:.2f}",
                                   f"{percentile(xs, 99) * 1000:.2f}", f"{max(xs) * 1000:.2f}"])
        save(a.out, res)
        print(f"command: {res['command']}\nmachine: {res['machine']}\n")
        print(table(["from commit to", "CURVE", "views", "p50 ms", "p99 ms", "max ms"], table_rows))
        for r in res["rows"]:
            print(f"CURVE {r['curve']}: {r['views_complete']} of {r['views_committed']} committed views reached "
                  f"every subscriber ({r['processes']} processes of {r['subscribers'] // r['processes']} SUB "
                  f"sockets; {r['failed']} joins failed)")
        print(f"{time.monotonic() - started:.0f} s")
    finally:
        for side in sides.values():
            side.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--processes", type=int, default=4)
    ap.add_argument("--views", type=int, default=50)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.json"))
    ap.add_argument("--security", default="off",
                    help="off (fanout_sub, as before), on or off,on (Python subscribers and client, interleaved)")
    ap.add_argument("--pace-ms", type=float, default=150, help="pause between rounds of commits (--security on)")
    a = ap.parse_args()
    security = [x.strip() for x in a.security.split(",")]
    assert all(x in ("off", "on") for x in security), "--security takes off, on or off,on"
    if security != ["off"]:
        return main_security(a, security)
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
        arrivals = gather_arrivals(subs, seconds)
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

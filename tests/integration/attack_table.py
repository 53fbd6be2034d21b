#!/usr/bin/env python3
"""Which attacks of issue 13 work against a PLAINTEXT cluster: each attack's bytes (the senders
of rosterkit.attacks, the same that tests/integration/test_attacks.py sends to a secured
cluster), sent with no credentials to a fresh 3-voter cluster on loopback, and what they did.

This is the evidence that each attack test can fail: on a node without the defences the same
bytes do damage (on the code before issue 13, every row but the garbage snapshot did). It is a
tool, not a test (ctest does not run it): since issue 13 the bounds refuse their rows here too
(terms, incarnations, names, sizes), while the rows that only authentication stops (a forged
leader, suspicions, leaves, heartbeats, names taken) keep working on a plaintext cluster by
design -- plaintext is for loopback, where whoever reaches the ports can read the data dir.

    /usr/bin/python3 tests/integration/attack_table.py [--only NAME ...] [--flood 20000]

Prints one markdown row per attack: what was sent, and what happened.
"""

import argparse
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rosterkit import attacks, wire  # noqa: E402
from rosterkit.cluster import Cluster  # noqa: E402
from rosterkit.link import Link  # noqa: E402
from rosterkit.metrics import scrape_bytes  # noqa: E402
from rosterkit.procs import kill_on_signals  # noqa: E402
from rosterkit.report import table  # noqa: E402
from rosterkit.waiting import WaitTimeout, wait_for  # noqa: E402

MEMBERS = ["a", "b"]


def formed():
    c = Cluster(voters=3)
    c.start_voters()
    for m in MEMBERS:
        c.add_member(m)
    c.wait_formed(["v1", "v2", "v3"] + MEMBERS)
    obs = attacks.Observer(c)
    leader = wait_for("a leader", obs.leader, timeout=10)
    return c, obs, leader


def eventually(pred, timeout):
    """pred() within timeout (False if it never held)."""
    try:
        return wait_for("it", pred, timeout)
    except WaitTimeout:
        return False


def member(obs, node, name):
    try:
        return obs.member(node, name)
    except AssertionError:
        return None


# ---- the attacks ---------------------------------------------------------------------------

def forged_append(c, obs, leader):
    f = next(v for v in c.voter_nodes if v is not leader)
    st = obs.status(f)
    with Link(f.peer) as link:
        attacks.forged_append_with_join(link, c.cluster, leader.voter_id, st["term"] + 1, st["commit_index"],
                                        st["term"], "ghost")
        hs = link.handshake()
        eventually(lambda: [v.name for v in c.voter_nodes if v.alive() and member(obs, v, "ghost")], 3)
        ghost_at = [v.name for v in c.voter_nodes if v.alive() and member(obs, v, "ghost")]
        # One more change (b killed), so that every voter commits views after the ghost's.
        c.members["b"].kill(signal.SIGKILL)
        eventually(lambda: all(member(obs, v, "b") is None for v in c.voter_nodes if v.alive()), 10)
        views = {v.name: obs.view(v) for v in c.voter_nodes if v.alive()}
        died = [f"{v.name} {attacks.describe_exit(v.proc.returncode)}" for v in c.voter_nodes if not v.alive()]
    # Two voters with the same view id and different members: guarantee 1 broken.
    by_id = {}
    for view in views.values():
        contents = tuple(sorted((i, m["name"]) for i, m in view["members"].items()))
        by_id.setdefault(view["view_id"], set()).add(contents)
    diverged = sorted(i for i, contents in by_id.items() if len(contents) > 1)
    ghosts = [n for n, v in views.items() if any(m["name"] == b"ghost" for m in v["members"].values())]
    return bool(ghost_at), (f"handshake {hs}; ghost committed at {ghost_at or 'no voter'}; after one more "
                            f"change, view ids {dict((n, v['view_id']) for n, v in views.items())}, "
                            f"ghost at {ghosts}; different views under one id: {diverged or 'none'}; "
                            f"voters exited: {died or 'none'}")


def max_term(c, obs, leader):
    for v in c.voter_nodes:
        claimed = leader.voter_id if v is not leader else next(x.voter_id for x in c.voter_nodes if x is not leader)
        with Link(v.peer) as link:
            attacks.append_with_term(link, c.cluster, claimed)
            link.handshake()
    terms = eventually(lambda: (lambda t: t if wire.U64_MAX in t else None)(
        [obs.status(v)["term"] for v in c.voter_nodes]), 3)
    no_leader = not eventually(obs.leader, 5)
    for v in c.voter_nodes:
        v.kill()
        v.wait()
    for v in c.voter_nodes:
        v.start()
    no_leader_after_restart = not eventually(obs.leader, 8)
    return no_leader, (f"terms {terms or 'unchanged'}; no leader within 5 s: {no_leader}; "
                       f"none within 8 s of restarting all voters: {no_leader_after_restart}")


def suspicions(c, obs, leader):
    x, y = [v for v in c.voter_nodes if v is not leader]
    a = obs.member(leader, "a")
    with Link(leader.peer) as link:
        def send():
            for claimed in (x, y):
                attacks.forged_suspicions(link, c.cluster, claimed.voter_id, a["id"], a["incarnation"])
            return member(obs, leader, "a") is None or member(obs, leader, "a")["id"] != a["id"]
        gone = eventually(send, 3)
        hs = link.outcomes()
    reason = obs.view(leader)["removed"]
    return bool(gone), f"handshake {hs[:1]}; live member a removed: {bool(gone)} {reason if gone else ''}"


def garbage_snapshot(c, obs, leader):
    f = next(v for v in c.voter_nodes if v is not leader)
    st = obs.status(f)
    refused0 = attacks.dropped(f, "peer", "snapshot_refused")
    with Link(f.peer) as link:
        attacks.garbage_snapshot(link, c.cluster, leader.voter_id, st["term"], st["commit_index"])
        hs = link.handshake()
        died = eventually(lambda: not f.alive(), 3)
    if died:
        return True, f"handshake {hs}; {f.name} {attacks.describe_exit(f.proc.returncode)}"
    return False, (f"handshake {hs}; {f.name} alive; snapshot_refused "
                   f"{refused0:g} -> {attacks.dropped(f, 'peer', 'snapshot_refused'):g}")


def leave(c, obs, leader):
    f = next(v for v in c.voter_nodes if v is not leader)
    a = obs.member(f, "a")
    with Link(f.listen) as link:
        attacks.forged_leave(link, c.cluster, a["id"], a["incarnation"])
        hs = link.handshake()
        gone = eventually(lambda: (lambda m: m is None or m["id"] != a["id"])(member(obs, f, "a")), 3)
    return bool(gone), f"handshake {hs}; a removed: {bool(gone)} {obs.view(f)['removed'] if gone else ''}"


def heartbeats_for_dead(c, obs, leader):
    b = obs.member(leader, "b")
    stop = threading.Event()
    sent = [0]

    def beat():
        links = [Link(v.listen) for v in c.voter_nodes]
        seq = 1 << 40
        while not stop.is_set():
            for link in links:
                attacks.forged_heartbeat(link, c.cluster, b["id"], b["incarnation"], seq)
            seq += 1
            sent[0] += 1
            stop.wait(0.05)
        for link in links:
            link.close()
    t = threading.Thread(target=beat, daemon=True)
    t.start()
    c.members["b"].kill(signal.SIGKILL)
    killed = time.monotonic()
    removed = eventually(lambda: member(obs, leader, "b") is None, 6)
    stop.set()
    t.join()
    after = eventually(lambda: member(obs, leader, "b") is None, 6)
    took = time.monotonic() - killed
    return not removed, (f"{sent[0]} rounds of forged heartbeats: b still in the view 6 s after kill -9: "
                         f"{not removed}; removed {took:.1f} s after the kill, once they stopped: {bool(after)}")


def join_live_name(c, obs, leader):
    out = []
    a = obs.member(leader, "a")
    with Link(leader.listen) as link:
        attacks.join_as(link, c.cluster, "a", a["incarnation"] + 1)
        hs = link.handshake()
        replaced = eventually(lambda: (lambda m: m and m["id"] != a["id"])(member(obs, leader, "a")), 3)
        removed = obs.view(leader)["removed"] if replaced else ""
        out.append(f"handshake {hs}; inc+1: a evicted: {bool(replaced)} {removed}")
        # The real a rejoins under a newer incarnation; then the largest incarnation.
        eventually(lambda: (lambda m: m and m["incarnation"] > a["incarnation"] + 1)(member(obs, leader, "a")), 5)
        attacks.join_as(link, c.cluster, "a", wire.U64_MAX)
        stuck = eventually(lambda: (lambda m: m and m["incarnation"] == wire.U64_MAX)(member(obs, leader, "a")), 3)
        p0 = attacks.counter(leader, "roster_raft_proposals_total")
        t0 = time.monotonic()
        eventually(lambda: time.monotonic() - t0 > 2, 3)
        rate = (attacks.counter(leader, "roster_raft_proposals_total") - p0) / (time.monotonic() - t0)
        out.append(f"2^64-1: the name held at 2^64-1: {bool(stuck)}, proposals {rate:.0f}/s afterwards")
    return bool(replaced) or bool(stuck), "; ".join(out)


def join_flood(c, obs, leader, count):
    before = obs.snapshot()
    lc0 = sum(attacks.counter(v, "roster_raft_leader_changes_total") for v in c.voter_nodes)
    f = next(v for v in c.voter_nodes if v is not leader)
    with Link(f.listen, sndhwm=100000) as link:
        sent, took = attacks.join_flood(link, c.cluster, count)
        # Let it settle: the view stops growing (a tool, not a test).
        last = [None, time.monotonic()]

        def settled():
            n = len(obs.view(leader, timeout=3)["members"])
            if n != last[0]:
                last[:] = [n, time.monotonic()]
            return time.monotonic() - last[1] > 3
        eventually(settled, 60)
    after = obs.snapshot()
    lc = sum(attacks.counter(v, "roster_raft_leader_changes_total") for v in c.voter_nodes) - lc0
    diffs = obs.differences(before, after)
    lost = [d for d in diffs if "removed" in d]
    # It worked if it moved the consensus leader or removed a member that kept heartbeating.
    size = len(after[leader.name]["members"])
    return bool(lost) or lc > 0, (f"{sent} joins sent in {took:.1f} s; view of {size} members; "
                                  f"leader changes {lc:g}; original members removed: {lost or 'none'}")


def big_envelopes(c, obs, leader):
    f = next(v for v in c.voter_nodes if v is not leader)
    me = obs.member(leader, f.name)
    msg = attacks.big_join(c.cluster, 50 * attacks.MiB)
    slowest = 0.0
    stop = threading.Event()
    probe = attacks.Observer(c)

    def watch():
        nonlocal slowest
        while not stop.is_set():
            t = time.monotonic()
            try:
                probe.status(f, timeout=10)
            except AssertionError:
                pass
            slowest = max(slowest, time.monotonic() - t)
            stop.wait(0.05)
    t = threading.Thread(target=watch, daemon=True)
    t.start()
    start = time.monotonic()
    with Link(f.listen) as link:
        for _ in range(10):
            link.send(msg, timeout=60)
        hs = link.handshake()
        eventually(lambda: time.monotonic() - start > 8, 10)
    stop.set()
    t.join()
    probe.close()
    now = member(obs, leader, f.name)
    kept = now is not None and now["id"] == me["id"]
    return (not kept) or slowest > 1.0, (f"handshake {hs}; slowest status answer of {f.name} {slowest:.1f} s; "
                                         f"its own member entry kept: {kept}; {f.name} alive: {f.alive()}")


def invalid_names(c, obs, leader):
    accepted = []
    with Link(leader.listen) as link:
        for label, name, _ in attacks.INVALID_NAMES:
            rid = attacks.join_as(link, c.cluster, name, int(time.time() * 1e6))
            try:
                r = link.wait_reply("JoinReply", rid, timeout=3)
                if r["status"] == "ok":
                    accepted.append(label)
            except AssertionError:
                pass
    text = scrape_bytes(leader.metrics)
    try:
        text.decode("utf-8")
        metrics_utf8 = True
    except UnicodeDecodeError:
        metrics_utf8 = False
    raw_escape = b"\x1b" in text
    return bool(accepted), (f"accepted: {accepted or 'none'}; /metrics valid UTF-8: {metrics_utf8}, "
                            f"has a raw ESC: {raw_escape}")


ATTACKS = {
    "forged_append": ("AppendEntries 'from the leader', term + 1, a JoinOp, to a follower's peer port", forged_append),
    "max_term": ("AppendEntries with term 2^64-1 to each voter", max_term),
    "suspicions": ("SuspicionReports 'from' the two other voters, to the leader", suspicions),
    "garbage_snapshot": ("InstallSnapshot with 4 KiB of random data, to a follower", garbage_snapshot),
    "leave": ("Leave for live member a (id and incarnation from the view)", leave),
    "heartbeats_for_dead": ("heartbeats every 50 ms for member b, killed with kill -9", heartbeats_for_dead),
    "join_live_name": ("JoinRequest as live member a, incarnation + 1, then 2^64-1", join_live_name),
    "join_flood": ("JoinRequests with distinct names from one connection", join_flood),
    "big_envelopes": ("ten well-formed 50 MB JoinRequests to a follower's listen port", big_envelopes),
    "invalid_names": ("joins named with invalid UTF-8, ANSI escapes, a newline, a C1 control, 256 bytes",
                      invalid_names),
}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="*", choices=sorted(ATTACKS), help="run only these")
    p.add_argument("--flood", type=int, default=20000, help="joins in the flood")
    args = p.parse_args()
    kill_on_signals()
    rows = []
    for name, (what, run) in ATTACKS.items():
        if args.only and name not in args.only:
            continue
        c, obs, leader = formed()
        try:
            worked, happened = run(c, obs, leader, args.flood) if name == "join_flood" else run(c, obs, leader)
        except Exception as e:  # noqa: BLE001 -- a tool: report and go on
            worked, happened = None, f"the attack could not be run: {e!r}"[:300]
            c.keep_logs = True
        finally:
            obs.close()
            c.cleanup()
        rows.append([name, what, {True: "**worked**", False: "refused", None: "?"}[worked], happened])
        print(f"{name}: {rows[-1][2]}: {happened}", flush=True)
    print()
    print(table(["attack", "sent (no credentials)", "result", "what happened"], rows))


if __name__ == "__main__":
    main()

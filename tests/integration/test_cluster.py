"""Integration tests: real rosterd processes on loopback, killed with SIGKILL, restarted.

Run by ctest (label `integration`); alone: /usr/bin/python3 -m unittest tests/integration/test_cluster.py
ROSTER_KEEP_LOGS=1 keeps the daemons' logs of a run (a failed test keeps them and prints where).
The harness (Cluster, ports, processes, wait_for) is tests/pylib/rosterkit.
"""

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rosterkit.cluster import cluster_for  # noqa: E402
from rosterkit.metrics import samples, scrape, total  # noqa: E402
from rosterkit.paths import binary  # noqa: E402
from rosterkit.ports import allocate  # noqa: E402
from rosterkit.procs import Proc  # noqa: E402
from rosterkit.waiting import wait_for  # noqa: E402

VOTERS = ["v1", "v2", "v3"]


def ids(view):
    return [m["id"] for m in view["members"]]


class ClusterTestCase(unittest.TestCase):
    members = ["a", "b", "c"]

    def setUp(self):
        # Cleaned up (every process killed) whatever happens, a failure of setUp included.
        self.c = cluster_for(self)
        self.c.start_voters()
        for m in self.members:
            self.c.add_member(m)
        self.c.wait_formed(VOTERS + self.members)


class Formation(ClusterTestCase):
    def test_the_cluster_forms_with_one_leader(self):
        view = self.c.members_of(self.c.voter_nodes[0])
        self.assertEqual(sorted(m["name"] for m in view["members"]), sorted(VOTERS + self.members))
        self.assertEqual(ids(view), sorted(ids(view)), "members sorted by id")
        self.assertEqual(view["leader"]["id"], ids(view)[0], "the leader is the lowest id")
        roles = [self.c.ctl(v, "status")["role"] for v in self.c.voter_nodes]
        self.assertEqual(roles.count("leader"), 1, roles)
        self.assertEqual(self.c.ctl(self.c.members["a"], "status")["role"], "member")
        leader = self.c.ctl(self.c.members["b"], "leader")
        self.assertEqual(leader["id"], view["leader"]["id"])
        self.assertEqual(leader["fencing_token"], view["leader"]["fencing_token"])


class MemberCrash(ClusterTestCase):
    def test_a_killed_member_is_removed_and_three_watchers_see_the_same_views(self):
        watchers = [self.c.watch(self.c.voter_nodes[0]), self.c.watch(self.c.members["a"]),
                    self.c.watch(self.c.members["b"])]
        wait_for("every watcher to deliver its first view", lambda: all(w.last() for w in watchers))
        victim = self.c.members_of(self.c.voter_nodes[0])
        victim_id = next(m["id"] for m in victim["members"] if m["name"] == "c")
        killed_at = time.monotonic()
        self.c.members["c"].kill(signal.SIGKILL)
        wait_for("every watcher to see member c removed",
                 lambda: all(w.last() and victim_id not in ids(w.last()) for w in watchers), timeout=10)
        took = [next(v["_arrived"] for v in w.snapshot() if victim_id not in ids(v)) - killed_at for w in watchers]
        print(f"\nkill -9 to removal at each watcher: {', '.join(f'{t * 1000:.0f} ms' for t in took)}")
        wait_for("the watchers to agree on their last view",
                 lambda: len({w.last()["view_id"] for w in watchers}) == 1)
        history = "\n".join(f"watcher {i}: " + ", ".join(f"{v['view_id']}:{ids(v)}{v['removed']}" for v in w.snapshot())
                            for i, w in enumerate(watchers))
        removal = next(v for v in watchers[0].snapshot() if victim_id not in ids(v))
        self.assertEqual(removal["removed"], [{"id": victim_id, "reason": "suspected"}], history)
        last = watchers[0].last()
        # Identical sequences over the views they all saw, and no gaps.
        seqs = [{v["view_id"]: (ids(v), v["leader"]) for v in w.snapshot()} for w in watchers]
        common = set(seqs[0]) & set(seqs[1]) & set(seqs[2])
        self.assertIn(last["view_id"], common, history)
        for vid in common:
            self.assertEqual(seqs[0][vid], seqs[1][vid], f"view {vid}\n{history}")
            self.assertEqual(seqs[0][vid], seqs[2][vid], f"view {vid}\n{history}")
        for w in watchers:
            got = [v["view_id"] for v in w.snapshot()]
            self.assertEqual(got, list(range(got[0], got[0] + len(got))), f"no gap, in order\n{history}")


class LeaderCrash(ClusterTestCase):
    def test_after_the_leader_is_killed_two_voters_still_remove_a_crashed_member(self):
        leader = wait_for("a leader", self.c.leader_voter)
        leader.kill(signal.SIGKILL)
        others = [v for v in self.c.voter_nodes if v is not leader]
        wait_for("a new leader among the other two", lambda: self.c.leader_voter() in others, timeout=10)
        victim = next(m["id"] for m in self.c.members_of(others[0])["members"] if m["name"] == "b")
        self.c.members["b"].kill(signal.SIGKILL)
        wait_for("member b removed with two voters left",
                 lambda: victim not in ids(self.c.members_of(others[0])) and
                 victim not in ids(self.c.members_of(others[1])), timeout=10)


class VoterStall(ClusterTestCase):
    def test_a_stopped_voter_notices_its_stall_and_suspects_nobody_while_it_catches_up(self):
        """Local health (docs/membership.md): a voter stopped for 1.5 s wakes to members silent for
        that long; it says it stalled, suspects none of them, and no member is removed."""
        stalled, other = self.c.voter_nodes[1], self.c.voter_nodes[0]
        before = {m["name"]: m["id"] for m in self.c.members_of(other)["members"]}
        suspicions = total(scrape(stalled.metrics), "roster_suspicions_raised_total") or 0
        stalled.kill(signal.SIGSTOP)
        time.sleep(1.5)  # the length of the stall, not a wait for a condition
        stalled.kill(signal.SIGCONT)
        stall_line = re.compile(r"local health score \d+ \(was 0\): this voter stalled for 1[0-9]{3} ms")
        wait_for("the voter to log its stall", lambda: stall_line.search(stalled.log_text()), timeout=5)
        self.assertIsNotNone(total(scrape(stalled.metrics), "roster_local_health_score"), "a voter's gauge")
        wait_for("its local health restored", lambda: "local health restored" in stalled.log_text(), timeout=15)
        self.assertEqual(total(scrape(stalled.metrics), "roster_suspicions_raised_total") or 0, suspicions,
                         stalled.log_text()[-3000:])
        after = {m["name"]: m["id"] for m in self.c.members_of(other)["members"]}
        for name in self.members:
            self.assertEqual(after.get(name), before[name], f"member {name} kept its id\n{stalled.log_text()[-3000:]}")


class VoterRestart(ClusterTestCase):
    def test_a_restarted_voter_catches_up(self):
        v3 = self.c.voter_nodes[2]
        v3.kill(signal.SIGKILL)
        v3.wait()
        self.c.add_member("d")
        self.c.members["a"].kill(signal.SIGTERM)
        survivors = [self.c.voter_nodes[0], self.c.voter_nodes[1]]
        wait_for("d in and a out at the other voters",
                 lambda: all(set(self.c.names_in_view(v)) == {"v1", "v2", "v3", "b", "c", "d"} or
                             set(self.c.names_in_view(v)) == {"v1", "v2", "b", "c", "d"} for v in survivors),
                 timeout=15)
        v3.start()
        target = self.c.members_of(self.c.voter_nodes[0])["view_id"]
        wait_for("v3 to catch up", lambda: self.c.members_of(v3)["view_id"] >= target, timeout=15)
        # And it rejoined the views under its new incarnation.
        wait_for("v3 back in the view", lambda: "v3" in self.c.names_in_view(self.c.voter_nodes[0]), timeout=15)


class FullRestart(ClusterTestCase):
    def test_restarting_every_voter_keeps_every_committed_view(self):
        watcher = self.c.watch(self.c.members["a"])
        wait_for("the watcher's first view", watcher.last)
        self.c.members["c"].kill(signal.SIGTERM)  # one more committed change
        wait_for("c gone", lambda: "c" not in self.c.names_in_view(self.c.voter_nodes[0]))
        before = self.c.members_of(self.c.voter_nodes[0])
        for v in self.c.voter_nodes:
            v.kill(signal.SIGKILL)
        for v in self.c.voter_nodes:
            v.wait()
        for v in self.c.voter_nodes:
            v.start()
        wait_for("a leader after the restart", self.c.leader_voter, timeout=15)
        for v in self.c.voter_nodes:
            after = wait_for(f"{v.name} to hold view {before['view_id']} or later",
                             lambda v=v: (lambda x: x if x["view_id"] >= before["view_id"] else None)(
                                 self.c.members_of(v)), timeout=15)
            if after["view_id"] == before["view_id"]:
                self.assertEqual(ids(after), ids(before))
        # The voters come back under new incarnations, replacing their old instances; the
        # watcher saw every view in order, without a gap, across the restart.
        wait_for("the voters back in the view",
                 lambda: {"v1", "v2", "v3"} <= set(self.c.names_in_view(self.c.voter_nodes[0])), timeout=15)
        wait_for("the watcher to follow", lambda: watcher.last()["view_id"] ==
                 self.c.members_of(self.c.voter_nodes[0])["view_id"], timeout=15)
        got = [v["view_id"] for v in watcher.snapshot()]
        self.assertEqual(got, list(range(got[0], got[0] + len(got))))
        self.assertFalse(any(v["resync"] for v in watcher.snapshot()))
        seen = {v["view_id"]: ids(v) for v in watcher.snapshot()}
        self.assertEqual(seen[before["view_id"]], ids(before))


class GracefulLeave(ClusterTestCase):
    def test_sigterm_makes_a_member_leave_as_left_and_exit_0(self):
        watcher = self.c.watch(self.c.voter_nodes[1])
        wait_for("the watcher's first view", watcher.last)
        b = self.c.members["b"]
        b_id = next(m["id"] for m in self.c.members_of(b)["members"] if m["name"] == "b")
        b.kill(signal.SIGTERM)
        self.assertEqual(b.wait(timeout=10), 0)
        wait_for("b removed", lambda: b_id not in ids(watcher.last()))
        removal = next(v for v in watcher.snapshot() if b_id not in ids(v))
        self.assertEqual(removal["removed"], [{"id": b_id, "reason": "left"}])


class BadBytes(ClusterTestCase):
    members = ["a"]

    def test_garbage_on_the_listen_socket_is_dropped_and_counted(self):
        v1 = self.c.voter_nodes[0]
        out = subprocess.run([binary("send_garbage"), v1.listen], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)

        def dropped():
            return samples(scrape(v1.metrics, timeout=2), "roster_messages_dropped_total")
        counts = wait_for("the drops to be counted", lambda: (lambda d: d if sum(d.values()) >= 400 else None)(dropped()))
        self.assertTrue(any('reason="decode_error"' in k for k in counts), counts)
        self.assertTrue(any('reason="wrong_cluster"' in k for k in counts), counts)
        self.assertTrue(v1.alive())
        self.assertEqual(self.c.ctl(v1, "status")["name"], "v1")


class Errors(unittest.TestCase):
    """Bad flags, busy ports and foreign data dirs give a clear message and a non-zero exit."""

    def rosterd(self, *args, timeout=10):
        return subprocess.run([binary("rosterd")] + list(args), capture_output=True, text=True, timeout=timeout)

    def test_bad_flags(self):
        for args, message in [
            ([], "give --voter-id and --voters"),
            (["--join", "localhost"], "--join: 'localhost' is not HOST:PORT"),
            (["--join", "127.0.0.1:99999"], "port must be 1..65535"),
            (["--voter-id", "4", "--voters", "1@127.0.0.1:1,2@127.0.0.1:2,3@127.0.0.1:3", "--data-dir", "/tmp/x"],
             "--voter-id 4 is not in --voters (1, 2, 3)"),
            (["--voter-id", "1", "--voters", "1@127.0.0.1:1,2@127.0.0.1:2", "--data-dir", "/tmp/x"],
             "there must be 1, 3 or 5"),
            (["--voter-id", "1", "--voters", "1@127.0.0.1:1"], "needs --data-dir"),
            (["--dev", "--log-format", "xml"], "--log-format"),
        ]:
            out = self.rosterd(*args)
            self.assertNotEqual(out.returncode, 0, args)
            self.assertIn(message, out.stderr, args)

    def test_a_config_file_sets_the_flags(self):
        d = tempfile.mkdtemp(prefix="roster-it-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        listen, peer, publish, metrics = allocate(4)
        config = os.path.join(d, "rosterd.toml")
        with open(config, "w") as f:
            f.write(f'name = "from-config"\ncluster = "cfg"\nvoter-id = 1\nvoters = "1@127.0.0.1:{peer}"\n'
                    f'data-dir = "{d}/data"\nlisten = "127.0.0.1:{listen}"\npublish = "127.0.0.1:{publish}"\n'
                    f'metrics-listen = "127.0.0.1:{metrics}"\nheartbeat-interval-ms = 50\n')
        p = Proc([binary("rosterd"), "--config", config])
        self.addCleanup(p.kill)

        def status():
            out = subprocess.run([binary("rosterctl"), "--endpoint", f"127.0.0.1:{listen}",
                                  "--cluster", "cfg", "--timeout", "300", "status", "--json"],
                                 capture_output=True, text=True, timeout=5)
            return json.loads(out.stdout) if out.returncode == 0 else None
        st = wait_for("the configured voter to answer", status)
        self.assertEqual(st["name"], "from-config")
        self.assertEqual(st["voter_id"], 1)

    def test_a_port_in_use(self):
        listen, peer, metrics, port = allocate(4)
        s = socket.socket()
        s.bind(("127.0.0.1", port))
        s.listen()
        try:
            out = self.rosterd("--dev", "--listen", f"127.0.0.1:{listen}", "--peer-listen", f"127.0.0.1:{peer}",
                               "--publish", f"127.0.0.1:{port}", "--metrics-listen", f"127.0.0.1:{metrics}")
            self.assertEqual(out.returncode, 1)
            self.assertIn(f"--publish 127.0.0.1:{port}: address in use", out.stderr)
        finally:
            s.close()

    def test_a_data_dir_of_another_voter_or_cluster_is_refused(self):
        d = tempfile.mkdtemp(prefix="roster-it-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        listen, peer, publish, metrics = allocate(4)
        common = ["--listen", f"127.0.0.1:{listen}", "--publish", f"127.0.0.1:{publish}",
                  "--metrics-listen", f"127.0.0.1:{metrics}", "--data-dir", d]
        one = ["--voter-id", "1", "--voters", f"1@127.0.0.1:{peer}"]
        p = Proc([binary("rosterd")] + common + one + ["--cluster", "alpha"])
        self.addCleanup(p.kill)
        wait_for("the first voter to create its data", lambda: os.path.exists(os.path.join(d, "raft.db")))
        p.kill()
        out = self.rosterd(*(common + one + ["--cluster", "beta"]))
        self.assertEqual(out.returncode, 1)
        self.assertIn("belongs to cluster 'alpha' voter 1, not cluster 'beta' voter 1", out.stderr)
        self.assertIn(os.path.join(d, "raft.db"), out.stderr)

    def test_what_stops_the_start_is_printed_escaped_on_one_line(self):
        # A flag value and the contents of a damaged data file (its cluster name) reach stderr
        # escaped: no escape sequence reaches the terminal, no newline forges a second line.
        out = self.rosterd("--join", "127.0.0.1:7400\x1b[2J\nforged")
        self.assertEqual(out.returncode, 2)
        self.assertIn("--join: '127.0.0.1:7400\\x1b[2J\\nforged' is not HOST:PORT", out.stderr)
        self.assertNotIn("\x1b", out.stderr)
        self.assertEqual(out.stderr.count("\n"), 1, out.stderr)

        d = tempfile.mkdtemp(prefix="roster-it-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        listen, peer, publish, metrics = allocate(4)
        flags = ["--listen", f"127.0.0.1:{listen}", "--publish", f"127.0.0.1:{publish}",
                 "--metrics-listen", f"127.0.0.1:{metrics}", "--data-dir", d,
                 "--voter-id", "1", "--voters", f"1@127.0.0.1:{peer}", "--cluster", "alpha"]
        p = Proc([binary("rosterd")] + flags)
        self.addCleanup(p.kill)
        db = os.path.join(d, "raft.db")
        wait_for("the voter to create its data", lambda: os.path.exists(db))
        p.kill()
        con = sqlite3.connect(db)
        with con:
            con.execute("UPDATE meta SET value = ? WHERE key = 'cluster'", ("al\x1b[2Jpha\nforged",))
        con.close()
        out = self.rosterd(*flags)
        self.assertEqual(out.returncode, 1)
        self.assertIn("belongs to cluster 'al\\x1b[2Jpha\\nforged' voter 1, not cluster 'alpha' voter 1",
                      out.stderr)
        self.assertNotIn("\x1b", out.stderr)

    def test_rosterctl_reports_an_unreachable_endpoint_within_its_timeout(self):
        (port,) = allocate(1)
        start = time.monotonic()
        out = subprocess.run([binary("rosterctl"), "--endpoint", f"127.0.0.1:{port}", "--timeout", "500",
                              "status"], capture_output=True, text=True, timeout=10)
        took = time.monotonic() - start
        self.assertEqual(out.returncode, 1, "1: the cluster is unreachable")
        # Nothing listens there: refused at once, named, not a wait for the whole timeout.
        self.assertIn(f"127.0.0.1:{port}: connection refused", out.stderr)
        self.assertLess(took, 3.0)


if __name__ == "__main__":
    unittest.main()

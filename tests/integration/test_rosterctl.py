"""rosterctl as an operator meets it (issue 15): bad input is a usage error (exit 2) with a message,
never a crash; flags go anywhere; calls and `watch` fail over between endpoints and say so; a
closed port fails fast; `watch` notices a dead or replaced upstream within its bound
(client/client.hh: watch_silence_bound, 3 s); the members table and status text on a real
3-voter cluster.

Run by ctest (label `integration`); alone: /usr/bin/python3 -m unittest -v test_rosterctl
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rosterkit.cluster import Cluster, cluster_for  # noqa: E402
from rosterkit.paths import ROOT, binary  # noqa: E402
from rosterkit.ports import allocate  # noqa: E402
from rosterkit.procs import Proc  # noqa: E402
from rosterkit.waiting import wait_for  # noqa: E402

VOTERS = ["v1", "v2", "v3"]
# client/client.hh: a followed node that answers nothing for this long is lost.
SILENCE_BOUND = 3.0
# What may come on top of a bound on a loaded machine (2 cores shared by several test runs): the
# last answer can be up to one poll (1 s) before the kill, plus scheduling.
MARGIN = 2.5


def rosterctl(*args, timeout=20):
    started = time.monotonic()
    out = subprocess.run([binary("rosterctl")] + list(args), capture_output=True, text=True, timeout=timeout)
    out.took = time.monotonic() - started
    return out


def project_version():
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        return re.search(r"project\(\s*roster\s+VERSION\s+([\d.]+)", f.read()).group(1)


def closed_port():
    """A loopback port that nothing listens on (reserved for this test, so nobody starts listening)."""
    return allocate(1)[0]


class Usage(unittest.TestCase):
    """No cluster needed: what rosterctl does with its command line."""

    def test_every_malformed_endpoint_is_a_usage_error_that_names_it(self):
        cases = {
            "localhost": "'localhost' is not HOST:PORT (no port)",
            "127.0.0.1:": "'127.0.0.1:' is not HOST:PORT (no port)",
            ":7400": "':7400' is not HOST:PORT (bad host '')",
            "host:99999": "'host:99999' is not HOST:PORT (port must be 1..65535)",
            "host:0": "'host:0' is not HOST:PORT (port must be 1..65535)",
            "1@": "'1@': '' is not HOST:PORT (no port)",
            "x@h:1": "'x@h:1': the voter id must be a number from 1",
            "garbage": "'garbage' is not HOST:PORT (no port)",
            "": "'' is not HOST:PORT (no port)",
            "127.0.0.1:7400,,127.0.0.1:7410": "'' is not HOST:PORT (no port)",
            "h\x1b[2J:1": "'h\\x1b[2J:1' is not HOST:PORT (bad host 'h\\x1b[2J')",
        }
        for endpoint, message in cases.items():
            for command in ("members", "status", "leader", "watch"):
                with self.subTest(endpoint=endpoint, command=command):
                    out = rosterctl("--endpoint", endpoint, command)
                    self.assertEqual(out.returncode, 2, out)
                    self.assertEqual(out.stderr, f"rosterctl: endpoint {message}\n")
                    self.assertEqual(out.stdout, "")

    def test_watch_views_refuses_a_malformed_endpoint_and_prints_its_help(self):
        for endpoint in ("localhost", "127.0.0.1:", "1@"):
            with self.subTest(endpoint=endpoint):
                out = subprocess.run([binary("watch_views"), endpoint], capture_output=True, text=True, timeout=20)
                self.assertEqual(out.returncode, 2, out)
                self.assertIn(f"watch_views: endpoint '{endpoint}'", out.stderr)
        out = subprocess.run([binary("watch_views"), "--help"], capture_output=True, text=True, timeout=20)
        self.assertEqual(out.returncode, 0, out)
        self.assertIn("Usage:", out.stdout)

    def test_flags_may_follow_the_command(self):
        port = closed_port()
        before = rosterctl("--endpoint", f"127.0.0.1:{port}", "--timeout", "300", "--json", "members")
        after = rosterctl("members", "--endpoint", f"127.0.0.1:{port}", "--json", "--timeout", "300")
        self.assertEqual(after.returncode, 1, after)
        self.assertEqual(after.stderr, before.stderr)
        self.assertIn(f"127.0.0.1:{port}: connection refused", after.stderr)

    def test_version(self):
        out = rosterctl("--version")
        self.assertEqual((out.returncode, out.stdout), (0, f"rosterctl {project_version()}\n"), out)

    def test_a_mistyped_command_gets_a_suggestion(self):
        for typed, meant in (("memberz", "members"), ("stauts", "status"), ("wach", "watch"), ("lead", "leader")):
            with self.subTest(typed=typed):
                out = rosterctl(typed)
                self.assertEqual(out.returncode, 2, out)
                self.assertEqual(out.stderr, f"rosterctl: unknown command '{typed}'; did you mean '{meant}'?\n")
        out = rosterctl("--timeout", "100", "xyzzy")
        self.assertEqual(out.returncode, 2, out)
        self.assertIn("unknown command 'xyzzy'; the commands are members, watch, leader, status, health, remove, keygen", out.stderr)

    def test_exit_codes(self):
        self.assertEqual(rosterctl("--help").returncode, 0)
        self.assertEqual(rosterctl("members", "--help").returncode, 0)
        for args in (["--bogus", "members"], ["members", "--bogus"], ["--timeout", "0", "members"],
                     ["--timeout", "abc", "members"], [], ["keygen"], ["members", "extra"],
                     ["--key-file", "/nonexistent/key", "members"]):
            with self.subTest(args=args):
                out = rosterctl(*args)
                self.assertEqual(out.returncode, 2, out)
                self.assertTrue(out.stderr.startswith("rosterctl: "), out.stderr)
                self.assertNotIn("terminate called", out.stderr)
        for command in ("members", "status", "leader", "watch"):
            with self.subTest(command=command):
                out = rosterctl("--endpoint", f"127.0.0.1:{closed_port()}", "--timeout", "500", command)
                self.assertEqual(out.returncode, 1, out)

    def test_a_closed_port_fails_fast_not_after_the_timeout(self):
        for command in ("members", "status", "watch"):
            with self.subTest(command=command):
                port = closed_port()
                out = rosterctl("--endpoint", f"127.0.0.1:{port}", "--timeout", "10000", command)
                self.assertEqual(out.returncode, 1, out)
                self.assertIn(f"127.0.0.1:{port}: connection refused", out.stderr)
                self.assertLess(out.took, 3.0, "well under the 10 s timeout")

    def test_an_endpoint_that_does_not_answer_gives_its_share_of_the_timeout_then_the_next(self):
        # A port where something listens and never answers: a bare TCP listener.
        import socket
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        self.addCleanup(silent.close)
        port = silent.getsockname()[1]
        other = closed_port()
        out = rosterctl("--endpoint", f"127.0.0.1:{port},127.0.0.1:{other}", "--timeout", "2000", "status")
        self.assertEqual(out.returncode, 1, out)
        self.assertIn(f"rosterctl: 127.0.0.1:{port} did not answer in 1000 ms; trying 127.0.0.1:{other}\n", out.stderr)
        self.assertLess(out.took, 2.0 + MARGIN, "the whole call stays within --timeout")


class ThreeVoters(unittest.TestCase):
    """A real 3-voter cluster and one member."""

    @classmethod
    def setUpClass(cls):
        cls.c = Cluster()
        try:
            cls.c.start_voters()
            cls.c.add_member("app1")
            cls.c.wait_formed(VOTERS + ["app1"])
        except BaseException:
            cls.c.cleanup(keep_logs=True)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.c.cleanup()

    def ctl_text(self, node, *args):
        out = rosterctl("--endpoint", node.listen, "--cluster", self.c.cluster, *args)
        self.assertEqual(out.returncode, 0, out)
        return out.stdout

    def test_members_table(self):
        view = self.c.members_of(self.c.voter_nodes[0])
        text = self.ctl_text(self.c.voter_nodes[0], "members")
        lines = text.splitlines()
        leader = view["leader"]
        self.assertEqual(lines[0], f"view {view['view_id']}, 4 members, member leader: id {leader['id']} "
                                   f"({leader['name']}), fencing token {leader['fencing_token']}")
        self.assertEqual(lines[1].split(), ["ID", "NAME", "ADDRESS", "INCARNATION", "TAGS", "JOINED", "VOTER"])
        rows = [line.split() for line in lines[2:]]
        self.assertEqual([r[:4] for r in rows],
                         [[str(m["id"]), m["name"], m["address"], str(m["incarnation"])] for m in view["members"]])
        # JOINED is the view each joined in; VOTER names each voter's own entry and its consensus role.
        consensus = wait_for("a consensus leader", self.c.leader_voter)
        for r, m in zip(rows, view["members"]):
            self.assertEqual(r[5:7], ["view", str(m["joined_view"])], r)
            if m["voter_id"]:
                role = "leader" if m["voter_id"] == consensus.voter_id else "follower"
                self.assertEqual(r[7:], ["voter", str(m["voter_id"]), f"({role})"], r)
            else:
                self.assertEqual(r[7:], ["-"], r)
        self.assertEqual(sorted(m["voter_id"] for m in view["members"] if m["voter_id"]), [1, 2, 3])
        self.assertEqual(lines[1].index("NAME"), lines[2].index(rows[0][1]), "columns line up")
        print("\n" + text)

    def test_json_is_what_it_was_plus_tags(self):
        view = self.c.members_of(self.c.members["app1"])
        self.assertEqual(list(view), ["view_id", "leader", "members", "joined", "removed"])
        for m in view["members"]:
            self.assertEqual(list(m)[:4], ["id", "name", "address", "incarnation"])
            self.assertEqual(m["tags"], {})

    def test_status_of_a_voter_and_of_a_member(self):
        leader = wait_for("a consensus leader", self.c.leader_voter)
        v = self.c.voter_nodes[0]
        s = self.c.ctl(v, "status")
        text = self.ctl_text(v, "status")
        print("\n" + text)
        self.assertIn(f"v1: voter 1, {s['role']}\n", text)
        self.assertIn(f"consensus leader: voter {leader.voter_id} (v{leader.voter_id})\n", text)
        self.assertRegex(text, r"term \d+, commit index \d+\n")
        self.assertRegex(text, r"view \d+, 4 members, member leader: id \d+ \(v\d\), fencing token \d+\n")
        text = self.ctl_text(self.c.members["app1"], "status")
        print(text)
        self.assertTrue(text.startswith("app1: member\n"), text)
        self.assertNotIn("term", text)
        self.assertNotIn("commit index", text)
        self.assertRegex(text, r"member id \d+\n")

    def test_flags_after_the_command_against_a_node(self):
        out = rosterctl("members", "--endpoint", self.c.voter_nodes[1].listen, "--json", "--cluster", self.c.cluster)
        self.assertEqual(out.returncode, 0, out)
        self.assertEqual(json.loads(out.stdout)["view_id"], self.c.members_of(self.c.voter_nodes[1])["view_id"])

    def test_a_call_fails_over_to_the_next_endpoint_and_says_so(self):
        dead = f"127.0.0.1:{closed_port()}"
        out = rosterctl("--endpoint", f"{dead},{self.c.voter_nodes[2].listen}", "--cluster", self.c.cluster,
                        "--json", "status")
        self.assertEqual(out.returncode, 0, out)
        self.assertEqual(json.loads(out.stdout)["name"], "v3")
        self.assertEqual(out.stderr, f"rosterctl: {dead} refused the connection; trying "
                                     f"{self.c.voter_nodes[2].listen}\n")

    def test_text_watch_prints_the_whole_view(self):
        w = Proc([binary("rosterctl"), "--endpoint", self.c.voter_nodes[0].listen, "--cluster", self.c.cluster,
                  "watch"], capture=True, log_path=os.path.join(self.c.dir, "text-watch.err"))
        self.addCleanup(w.kill)
        view = self.c.members_of(self.c.voter_nodes[0])
        w.wait_output(lambda lines: len(lines) >= 2 + len(view["members"]), 10, "the first view")
        lines = w.snapshot()
        self.assertTrue(lines[0].startswith(f"view {view['view_id']}, 4 members, member leader"), lines)
        rows = [line.split() for line in lines if re.match(r"^    \d", line)]
        self.assertEqual(rows, [[str(m["id"]), m["name"], m["address"]] for m in view["members"]])


def watch_proc(c, endpoints, name):
    """`rosterctl watch --json` on the endpoints; its stderr in a file (the notices)."""
    err = os.path.join(c.dir, f"{name}.err")
    w = Proc([binary("rosterctl"), "--endpoint", ",".join(endpoints), "--cluster", c.cluster, "watch", "--json"],
             capture=True, log_path=err, parse=lambda line: json.loads(line))
    w.err_path = err
    return w


def stderr_of(w):
    with open(w.err_path) as f:
        return f.read()


class WatchFailover(unittest.TestCase):
    def setUp(self):
        self.c = cluster_for(self)
        self.c.start_voters()
        self.c.wait_formed(VOTERS)

    def test_killed_upstream_the_watch_follows_the_next_endpoint_within_the_bound(self):
        v1, v2, _ = self.c.voter_nodes
        w = watch_proc(self.c, [v1.listen, v2.listen], "failover")
        self.addCleanup(w.kill)
        wait_for("the first view", w.last)
        killed = time.monotonic()
        v1.kill()
        notice = f"rosterctl: lost {v1.listen} (no answer for 3 s); following {v2.listen}"
        wait_for("the notice of the failover", lambda: notice in stderr_of(w), SILENCE_BOUND + MARGIN)
        took = time.monotonic() - killed
        print(f"\nkill -9 of the followed voter to the failover notice: {took * 1000:.0f} ms")
        self.assertTrue(w.alive())
        # Views keep coming, from v2, in order, none missing.
        before = w.last()["view_id"]
        self.c.add_member("late")
        wait_for("the join seen through v2", lambda: "late" in [m["name"] for m in w.last()["members"]], 15)
        ids = [v["view_id"] for v in w.snapshot()]
        self.assertEqual(ids, list(range(ids[0], ids[0] + len(ids))), "no gap, no repeat")
        self.assertGreater(w.last()["view_id"], before)
        self.assertFalse(any(v["resync"] for v in w.snapshot()))

    def test_killed_upstream_and_no_other_endpoint_the_watch_exits_1_within_the_bound(self):
        v1 = self.c.voter_nodes[0]
        w = watch_proc(self.c, [v1.listen], "alone")
        self.addCleanup(w.kill)
        wait_for("the first view", w.last)
        killed = time.monotonic()
        v1.kill()
        self.assertEqual(w.wait(timeout=SILENCE_BOUND + MARGIN), 1)
        took = time.monotonic() - killed
        print(f"\nkill -9 of the only endpoint to exit 1: {took * 1000:.0f} ms")
        self.assertEqual(stderr_of(w), f"rosterctl: lost {v1.listen} (no answer for 3 s)\n")

    def test_every_endpoint_lost_the_watch_exits_1_naming_them(self):
        v1, v2, v3 = self.c.voter_nodes
        w = watch_proc(self.c, [v1.listen, v2.listen], "both")
        self.addCleanup(w.kill)
        wait_for("the first view", w.last)
        for v in (v1, v2, v3):
            v.kill()
        self.assertEqual(w.wait(timeout=2 * SILENCE_BOUND + MARGIN), 1)
        err = stderr_of(w)
        self.assertIn(f"lost {v1.listen} (no answer for 3 s); following {v2.listen}", err)
        self.assertTrue(err.rstrip().endswith("no endpoint left that answers"), err)


class ReplacedUpstream(unittest.TestCase):
    def test_a_new_cluster_on_the_same_port_stops_the_watch_with_exit_1(self):
        c = cluster_for(self, voters=1)
        c.start_voters()
        # One join per view, so that the old history is past view 1, where the new one starts (the
        # watch detects views going back; a new cluster that reaches the same view id is not told
        # apart: README, "rosterctl").
        formed = ["v1"]
        c.wait_formed(formed)
        for name in ("a", "b", "c"):
            c.add_member(name)
            formed.append(name)
            c.wait_formed(formed)
        v1 = c.voter_nodes[0]
        w = watch_proc(c, [v1.listen], "replaced")
        self.addCleanup(w.kill)
        wait_for("the first view", w.last)
        shown = w.last()["view_id"]
        self.assertGreater(shown, 1)
        for n in [v1] + list(c.members.values()):
            n.kill()
            n.wait()
        # The same ports, a new data directory: another cluster, whose views start again at 1.
        data_dir = v1.args[v1.args.index("--data-dir") + 1]
        v1.args[v1.args.index("--data-dir") + 1] = data_dir + "-new"
        v1.start()
        self.assertEqual(w.wait(timeout=SILENCE_BOUND + MARGIN), 1)
        err = stderr_of(w)
        self.assertRegex(err, rf"rosterctl: {re.escape(v1.listen)} went back from view {shown} to view \d+: it "
                              r"was restarted without its data, or another cluster now runs there")
        self.assertEqual([v["view_id"] for v in w.snapshot()][-1], shown, "nothing of the new cluster was shown")


class DrainBeforeSync(unittest.TestCase):
    """Issue 15, point 7: a subscriber that wakes from a stall with a backlog must read its backlog
    before it asks for what it missed, or it asks from too far back, gets the full view and skips
    views the node still held. The stall here is `kill -STOP`, which also stops ZeroMQ's I/O
    thread, as a loaded machine does; more views commit meanwhile than the node's ring holds
    (node/voter_config.hh: publisher_ring, 1024), so a sync from before the stall can only be
    answered with a full view."""

    VIEWS = 1100

    def test_a_stopped_watcher_delivers_every_view_after_it_continues_without_a_resync(self):
        from rosterkit import wire
        from rosterkit.link import Link, request_id
        c = cluster_for(self, voters=1, voter_args=["--join-settle-ms", "0", "--max-members", "10000"])
        c.start_voters()
        c.wait_formed(["v1"])
        v1 = c.voter_nodes[0]
        w = watch_proc(c, [v1.listen], "stalled")
        self.addCleanup(w.kill)
        wait_for("the first view", w.last)
        first = w.last()["view_id"]
        w.signal(signal.SIGSTOP)
        self.addCleanup(lambda: w.alive() and w.signal(signal.SIGCONT))
        # Joins one after another, each its own view (no settle window to batch them); a new
        # connection for every 20, the burst that rosterd allows one sender (daemon/transport.cc).
        incarnation = int(time.time() * 1e6)
        for batch in range(0, self.VIEWS, 20):
            with Link(v1.listen) as link:
                for i in range(batch, batch + 20):
                    rid = request_id()
                    link.request(wire.join_request(c.cluster, rid, f"j{i}", incarnation), "JoinReply", rid,
                                 timeout=10)
        current = c.members_of(v1)["view_id"]
        self.assertGreater(current - first, 1024 + 10, "more views than the ring holds")
        w.signal(signal.SIGCONT)
        wait_for("the watcher to reach the current view", lambda: w.last()["view_id"] >= current, 60)
        got = [v["view_id"] for v in w.snapshot()]
        resyncs = [v["view_id"] for v in w.snapshot() if v["resync"]]
        self.assertEqual(resyncs, [], "a resync while the views were held")
        self.assertEqual(got[:current - first + 1], list(range(first, current + 1)), "every view, in order")


if __name__ == "__main__":
    unittest.main()

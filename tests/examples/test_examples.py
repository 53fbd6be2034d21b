"""The examples, run against a live cluster on loopback (ctest label `integration`)."""

import fcntl
import json
import os
import signal
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pylib"))
from rosterkit.cluster import cluster_for, test_failed  # noqa: E402
from rosterkit.paths import PYTHON, ROOT, binary  # noqa: E402
from rosterkit.procs import Proc  # noqa: E402
from rosterkit.waiting import wait_for  # noqa: E402


def try_lock(f):
    """Takes an exclusive flock on the open file f if nobody holds one (released when f closes)."""
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


class WithCluster(unittest.TestCase):
    """A cluster and the example processes of one test, all killed whatever happens; on a
    failure the end of each example's output is printed."""

    def setUp(self):
        self.c = cluster_for(self, **self.cluster_args())
        self.procs = []
        self.addCleanup(self._stop_procs)  # runs first: the examples go before their cluster

    def cluster_args(self):
        return {}

    def run_lines(self, args, env=None):
        """An example process whose stdout lines are collected (stderr: a file in the cluster's dir)."""
        p = Proc(args, log_path=os.path.join(self.c.dir, f"example-{len(self.procs)}.err"), capture=True, env=env)
        self.procs.append(p)
        return p

    def _stop_procs(self):
        for p in self.procs:
            p.kill()
        if test_failed(self):
            for p in self.procs:
                print("\n--- output of", p.args, "\n" + "\n".join(p.snapshot()[-30:]) + "\n" + p.log_tail())


class ExampleTest(WithCluster):
    members = ["a", "b"]

    def setUp(self):
        super().setUp()
        self.c.start_voters()
        for m in self.members:
            self.c.add_member(m)
        self.c.wait_formed(["v1", "v2", "v3"] + self.members)


class WatchViews(ExampleTest):
    def test_it_prints_views_changes_and_the_removal_of_its_own_node(self):
        a = self.c.members["a"]
        w = self.run_lines([binary("watch_views"), a.listen])
        wait_for("the first view", lambda: w.has("members, leader"))
        # Another member dies: a view without it, and why.
        self.c.members["b"].kill(signal.SIGKILL)
        wait_for("b's removal", lambda: w.has("removed: b (id") and w.has("suspected)"))
        # Its own node stalls long enough to be removed, then resumes: it is told, in order.
        a.kill(signal.SIGSTOP)
        wait_for("a removed at the voters", lambda: "a" not in self.c.names_in_view(self.c.voter_nodes[0]))
        a.kill(signal.SIGCONT)
        wait_for("the removal of its own node", lambda: w.has("!! this node (member"), timeout=15)
        wait_for("its return", lambda: w.has("!! this node is back, as member"), timeout=15)
        lines = w.snapshot()
        removed_at = next(i for i, l in enumerate(lines) if "!! this node (member" in l)
        back_at = next(i for i, l in enumerate(lines) if "!! this node is back" in l)
        self.assertLess(removed_at, back_at)


class LeaderElection(WithCluster):
    """Three instances, each next to a voter (voters are members too, and join first, so the lowest
    member ids are theirs). Five voters, so that two of them can be down and views still commit."""

    def read(self, path):
        try:
            with open(path) as f:
                return [(int(t), who) for t, who, _ in (line.split() for line in f if line.strip())]
        except FileNotFoundError:
            return []

    def cluster_args(self):
        return {"voters": 5}

    def setUp(self):
        super().setUp()
        # v1..v3 first: a quorum of five, and their members take the lowest ids; then v4 and v5.
        self.c.start_voters([0, 1, 2])
        wait_for("v1..v3 in the view",
                 lambda: sorted(self.c.names_in_view(self.c.voter_nodes[0])) == ["v1", "v2", "v3"])
        self.c.start_voters([3, 4])
        wait_for("all five in the view", lambda: len(self.c.names_in_view(self.c.voter_nodes[0])) == 5)

    def test_one_leader_acts_tokens_only_grow_and_stale_actions_are_refused(self):
        resource = os.path.join(self.c.dir, "job.log")
        instances = {}
        for v in self.c.voter_nodes[:3]:
            instances[v.name] = self.run_lines([binary("leader_election"), "--endpoint", v.listen, "--instance",
                                                v.name, "--resource", resource, "--every-ms", "20"])
        node = {v.name: v for v in self.c.voter_nodes}
        view = self.c.members_of(self.c.voter_nodes[4])
        leader = view["leader"]["name"]
        self.assertIn(leader, instances)
        wait_for("the leader's instance to act", lambda: self.read(resource), timeout=15)
        self.assertEqual({who for _, who in self.read(resource)}, {leader}, "only the leader acts")
        self.assertEqual(self.read(resource)[-1][0], view["leader"]["fencing_token"])

        # Kill the leader (its rosterd and its instance): the next lowest id takes over, larger token.
        first_token = self.read(resource)[-1][0]
        node[leader].kill(signal.SIGKILL)
        instances[leader].kill()
        wait_for("another instance to act with a larger token",
                 lambda: any(t > first_token and who != leader for t, who in self.read(resource)), timeout=15)

        # Freeze the new leader and its rosterd until the view moves on without them; then wake the
        # instance alone: it has heard nothing new, still believes it leads, and writes with its
        # old token -- which the resource refuses.
        second = self.read(resource)[-1][1]
        stale = self.read(resource)[-1][0]
        # Not in the middle of a write, though: the resource takes a lock around each one
        # (fenced_file.cc, on <resource>.lock), and an instance stopped while it holds the lock
        # would block every other writer, the third leader included. Holding the lock here while
        # the signals go out keeps it from being inside.
        with open(resource + ".lock", "a") as lock:
            wait_for("the resource's lock", lambda: try_lock(lock), timeout=10, interval=0.001)
            node[second].kill(signal.SIGSTOP)
            instances[second].signal(signal.SIGSTOP)
        third = next(n for n in instances if n not in (leader, second))
        wait_for("the third instance to take over",
                 lambda: any(t > stale and who == third for t, who in self.read(resource)), timeout=15)
        instances[second].signal(signal.SIGCONT)
        wait_for("the woken instance's stale action to be refused", lambda: self.read(resource + ".rejected"),
                 timeout=10)
        node[second].kill(signal.SIGCONT)

        accepted = self.read(resource)
        tokens = [t for t, _ in accepted]
        self.assertEqual(tokens, sorted(tokens), "accepted tokens never go down")
        self.assertEqual([w for i, (_, w) in enumerate(accepted) if i == 0 or accepted[i - 1][1] != w],
                         [leader, second, third], "three leaders, one after the other")
        for t, who in self.read(resource + ".rejected"):
            self.assertEqual(who, second)
            self.assertLess(t, max(tokens), "only stale tokens are refused")
        wait_for("the woken instance to say so", lambda: instances[second].has("refused"))


class PythonSubscriber(ExampleTest):
    def test_it_prints_what_rosterctl_watch_prints(self):
        a = self.c.members["a"]
        env = dict(os.environ, ROSTER_PYTHON=os.environ.get("ROSTER_PYTHON", os.path.join(ROOT, "build", "python")))
        py = self.run_lines([PYTHON, os.path.join(ROOT, "examples", "python", "subscriber.py"),
                             "--endpoint", a.listen], env=env)
        ctl = self.run_lines([binary("rosterctl"), "--endpoint", a.listen, "watch", "--json"])
        wait_for("both to print the current view", lambda: py.snapshot() and ctl.snapshot())
        # Some history: a join, a crash, a graceful leave.
        self.c.add_member("c")
        wait_for("c in", lambda: "c" in self.c.names_in_view(self.c.voter_nodes[0]))
        self.c.members["c"].kill(signal.SIGKILL)
        wait_for("c out", lambda: "c" not in self.c.names_in_view(self.c.voter_nodes[0]))
        self.c.members["b"].kill(signal.SIGTERM)
        wait_for("b out", lambda: "b" not in self.c.names_in_view(self.c.voter_nodes[0]))
        final = self.c.members_of(a)["view_id"]
        wait_for("both to reach the last view",
                 lambda: json.loads(py.snapshot()[-1])["view_id"] == final and
                 json.loads(ctl.snapshot()[-1])["view_id"] == final)
        by_id_py = {v["view_id"]: v for v in map(json.loads, py.snapshot())}
        # rosterctl watch on a member also prints that member's own events ("removed", "rejoined":
        # a live member can be suspected on a starved machine); the Python subscriber prints views.
        by_id_ctl = {v["view_id"]: v for v in map(json.loads, ctl.snapshot()) if "event" not in v}
        common = sorted(set(by_id_py) & set(by_id_ctl))
        self.assertGreaterEqual(len(common), 4, "a join, a crash and a leave after the first view")
        for vid in common:
            self.assertEqual(by_id_py[vid], by_id_ctl[vid], f"view {vid}")
        ids = [json.loads(line)["view_id"] for line in py.snapshot()]
        self.assertEqual(ids, list(range(ids[0], ids[0] + len(ids))), "in order, no gap")


if __name__ == "__main__":
    unittest.main()

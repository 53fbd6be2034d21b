"""The examples, run against a live cluster on loopback (ctest label `integration`).

Secured, as a cluster is started by the README (docs/security.md): the keys are made here with
`rosterctl keygen`, and every example is given a key and the key of the node it asks, with the
same flags as rosterctl. The Python subscriber also runs against a plaintext cluster on loopback
(its plaintext path is its own code).
"""

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pylib"))
from rosterkit.cluster import Cluster, test_failed  # noqa: E402
from rosterkit.paths import PYTHON, ROOT, binary  # noqa: E402
from rosterkit.procs import Proc  # noqa: E402
from rosterkit.waiting import wait_for  # noqa: E402

SUBSCRIBER = os.path.join(ROOT, "examples", "python", "subscriber.py")


def keygen(path):
    """`rosterctl keygen PATH`: the public key (Z85) it prints; PATH and PATH.pub written."""
    out = subprocess.run([binary("rosterctl"), "keygen", path], capture_output=True, text=True, timeout=10)
    if out.returncode != 0:
        raise RuntimeError(f"rosterctl keygen {path}: {out.stderr.strip()}")
    with open(path + ".pub") as f:
        public = f.read().strip()
    assert public == out.stdout.strip(), "keygen prints the key it writes to PATH.pub"
    return public


class SecuredCluster(Cluster):
    """The kit's Cluster, secured as the README starts one: a key pair per node (`rosterctl
    keygen`), --voter-keys and --authorized-keys on every node (a `member NAME` line per member,
    named up front, and a `reader` line for the key this test's clients use), and members that
    --join ID@HOST:PORT. The test's rosterctl calls use the reader key. (Local to these tests; the
    kit's own secured mode can replace it.)"""

    def __init__(self, voters=3, members=(), **kwargs):
        workdir = tempfile.mkdtemp(prefix="roster-it-")
        self.key_dir = os.path.join(workdir, "keys")
        os.makedirs(self.key_dir, mode=0o700)
        try:
            self.public = {name: keygen(self.key_file(name))
                           for name in [f"v{i + 1}" for i in range(voters)] + list(members) + ["client"]}
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        self.voter_keys_flag = ",".join(f"{i + 1}={self.public[f'v{i + 1}']}" for i in range(voters))
        self.authorized_file = os.path.join(workdir, "authorized_keys")
        with open(self.authorized_file, "w") as f:
            f.write("# the test's members and its clients' reader key\n")
            f.writelines(f"{self.public[m]} member {m}\n" for m in members)
            f.write(f"{self.public['client']} reader\n")
        super().__init__(voters=voters, workdir=workdir, **kwargs)

    def key_file(self, name):
        return os.path.join(self.key_dir, name)

    def _common_args(self, node):
        if node.name not in self.public:
            raise ValueError(f"{node.name}: name the members of a SecuredCluster up front (members=...)")
        return super()._common_args(node) + ["--key-file", self.key_file(node.name),
                                             "--voter-keys", self.voter_keys_flag,
                                             "--authorized-keys", self.authorized_file]

    def _set_voter_args(self):
        super()._set_voter_args()
        # A secured member names the voter behind each endpoint: its key is that voter's.
        self.join = ",".join(f"{i + 1}@{v.listen}" for i, v in enumerate(self.voter_nodes))

    def key_args(self, node):
        """The client flags (rosterctl's, and the examples') to reach `node`, but the endpoint: the
        reader key, and the node's key (a member's as --server-key, the voters' as --voter-keys)."""
        if node in self.voter_nodes:
            return ["--key-file", self.key_file("client"), "--voter-keys", self.voter_keys_flag]
        # One argument with "=": a Z85 key may start with "-", which argparse (subscriber.py) would
        # take for an option.
        return ["--key-file", self.key_file("client"), f"--server-key={self.public[node.name]}"]

    def endpoint(self, node):
        """`node`'s --listen as a client names it: ID@HOST:PORT for a voter."""
        if node in self.voter_nodes:
            return f"{self.voter_nodes.index(node) + 1}@{node.listen}"
        return node.listen

    def client_args(self, node):
        return self.key_args(node) + ["--endpoint", self.endpoint(node)]

    def ctl(self, node, *args, timeout_ms=2000):
        out = subprocess.run([binary("rosterctl")] + self.client_args(node) +
                             ["--cluster", self.cluster, "--timeout", str(timeout_ms)] + list(args) + ["--json"],
                             capture_output=True, text=True, timeout=timeout_ms / 1000 + 5)
        if out.returncode != 0:
            raise RuntimeError(out.stderr.strip())
        return json.loads(out.stdout)


class PlainCluster(Cluster):
    """The kit's Cluster in plaintext (loopback only), with SecuredCluster's client methods."""

    def __init__(self, members=(), **kwargs):
        super().__init__(**kwargs)

    def key_args(self, node):
        return []

    def endpoint(self, node):
        return node.listen

    def client_args(self, node):
        return ["--endpoint", node.listen]


def try_lock(f):
    """Takes an exclusive flock on the open file f if nobody holds one (released when f closes)."""
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


class WithCluster(unittest.TestCase):
    """A cluster (secured unless `secured` is False) and the example processes of one test, all
    killed whatever happens; on a failure the end of each example's output is printed."""
    secured = True
    members = []

    def setUp(self):
        kind = SecuredCluster if self.secured else PlainCluster
        self.c = kind(members=self.members + self.later_members(), **self.cluster_args())
        self.addCleanup(self.c.cleanup_after, self)  # as cluster_for: also when setUp fails
        self.procs = []
        self.addCleanup(self._stop_procs)  # runs first: the examples go before their cluster

    def cluster_args(self):
        return {}

    def later_members(self):
        """Members the test adds after setUp (a secured cluster authorizes their keys up front)."""
        return []

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
        w = self.run_lines([binary("watch_views")] + self.c.key_args(a) + [a.listen])
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
            # Next to its own rosterd: it expects that node's public key (its key file's .pub).
            where = ["--endpoint", v.listen] + (["--key-file", self.c.key_file("client"), "--server-key",
                                                 self.c.public[v.name]] if self.secured else [])
            instances[v.name] = self.run_lines([binary("leader_election")] + where + [
                "--instance", v.name, "--resource", resource, "--every-ms", "20"])
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


def python_env():
    return dict(os.environ, ROSTER_PYTHON=os.environ.get("ROSTER_PYTHON", os.path.join(ROOT, "build", "python")))


class PythonSubscriber(ExampleTest):
    def later_members(self):
        return ["c"]

    def test_it_prints_what_rosterctl_watch_prints(self):
        a = self.c.members["a"]
        py = self.run_lines([PYTHON, SUBSCRIBER] + self.c.client_args(a), env=python_env())
        ctl = self.run_lines([binary("rosterctl")] + self.c.client_args(a) + ["watch", "--json"])
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
        # Not only through sync requests (which would fill every gap too): the publish stream
        # itself came through, over CURVE with the same server key.
        wait_for("the subscriber's SUB socket to receive views", lambda: "receiving the views published at"
                 in py.log_tail(), timeout=5)
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
        # A secured cluster records each member's key, and both print it.
        members = by_id_py[common[-1]]["members"]
        if self.secured:
            self.assertEqual({m["name"]: m["key"] for m in members}, {m["name"]: self.c.public[m["name"]]
                                                                     for m in members})
        else:
            self.assertFalse([m for m in members if "key" in m])


class PythonSubscriberPlaintext(PythonSubscriber):
    """The same, on a plaintext cluster on loopback (no --key-file anywhere)."""
    secured = False


class SecuredErrors(ExampleTest):
    """Against a secured node: the subscriber reaches a voter by ID@HOST:PORT with the voters' keys
    from the environment, as rosterctl does; and each example says why it cannot talk without a
    key, or with a key the node does not know, instead of hanging."""
    members = ["a"]

    def run_to_end(self, args, env=None, timeout=20):
        out = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
        return out.returncode, out.stdout, out.stderr

    def test_the_subscriber_takes_the_voter_keys_from_the_environment(self):
        v1 = self.c.voter_nodes[0]
        env = dict(python_env(), ROSTER_KEY_FILE=self.c.key_file("client"),
                   ROSTER_VOTER_KEYS=self.c.voter_keys_flag)
        code, out, err = self.run_to_end([PYTHON, SUBSCRIBER, "--endpoint", f"1@{v1.listen}", "--count", "1"],
                                         env=env)
        self.assertEqual(code, 0, err)
        view = json.loads(out.splitlines()[0])
        self.assertEqual({m["name"]: m["key"] for m in view["members"]},
                         {n: self.c.public[n] for n in ["a", "v1", "v2", "v3"]})

    def test_without_a_key_or_with_an_unknown_one_they_say_why(self):
        a = self.c.members["a"]
        stranger = self.c.key_file("stranger")
        stranger_pub = keygen(stranger)
        with open(self.c.authorized_file) as f:
            self.assertNotIn(stranger_pub, f.read())
        env = python_env()
        for k in ("ROSTER_KEY_FILE", "ROSTER_VOTER_KEYS"):
            env.pop(k, None)
        server = ["--server-key", self.c.public["a"], "--endpoint", a.listen]
        for name, args in [("subscriber.py", [PYTHON, SUBSCRIBER]),
                           ("leader_election", [binary("leader_election"), "--resource",
                                                os.path.join(self.c.dir, "job.log")])]:
            with self.subTest(name, key="none"):
                code, _, err = self.run_to_end(args + ["--endpoint", a.listen], env=env)
                self.assertNotEqual(code, 0)
                self.assertIn("it requires CURVE", err)
            with self.subTest(name, key="not authorized"):
                code, _, err = self.run_to_end(args + ["--key-file", stranger] + server, env=env)
                self.assertNotEqual(code, 0)
                self.assertIn("it refused this client's key", err)


if __name__ == "__main__":
    unittest.main()

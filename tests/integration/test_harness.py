"""The harness kills what it started, also when a test fails; and it moves a node whose port an
outsider took, where that is safe.

Each test runs a small program in a child python that starts a cluster under a unique cluster
name and then fails in one of the ways a real test can: setUp fails after the voters died (the
members are left without voters), the test body raises, the program dies of an exception without
any cleanup of its own, or it is sent SIGTERM. Once the child has exited, no process whose
command line names that cluster may be alive.

PortInUseRetry: a port of the scheme's blocks taken by a program outside it (here: a socket of
the test itself) before rosterd binds it.

Run by ctest (label `integration`); alone: /usr/bin/python3 -m unittest tests/integration/test_harness.py
"""

import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
PYLIB = os.path.abspath(os.path.join(HERE, "..", "pylib"))
sys.path.insert(0, PYLIB)
from rosterkit.cluster import Cluster, PortInUse, cluster_for  # noqa: E402
from rosterkit.paths import PYTHON  # noqa: E402
from rosterkit.ports import allocate  # noqa: E402
from rosterkit.procs import Proc, processes_with_arg  # noqa: E402

# The child's part: a cluster of 3 voters and 2 members named NAME; prints the pids it started.
START = """
import os, signal, sys, time, unittest
from rosterkit.cluster import Cluster, cluster_for
from rosterkit.procs import kill_on_signals, processes_with_arg

NAME, DIR = sys.argv[1], sys.argv[2]

def start(c):
    c.start_voters()
    for m in ("a", "b"):
        c.add_member(m)
    c.wait_formed(["v1", "v2", "v3", "a", "b"])
    print("pids", *[n.proc.pid for n in c.voter_nodes + list(c.members.values())], flush=True)

def kill_voters(c):
    for v in c.voter_nodes:
        v.kill(signal.SIGKILL)
        v.wait()

def run_and_report():
    # Runs the failing test, then says what of the cluster is left, before any atexit cleanup.
    result = unittest.main(argv=["child"], exit=False).result
    print("left", *[p for p in processes_with_arg(NAME) if p != os.getpid()], flush=True)
    sys.exit(0 if result.wasSuccessful() else 1)
"""

CHILDREN = {
    # setUp fails after start: tearDown is not called, the cleanup registered by cluster_for is.
    "setup_fails": START + """
class T(unittest.TestCase):
    def setUp(self):
        self.c = cluster_for(self, cluster=NAME, workdir=DIR)
        start(self.c)
        kill_voters(self.c)
        self.c.wait_formed(["v1", "v2", "v3", "a", "b", "c"], timeout=1)  # cannot: c never came

    def test_never_runs(self):
        pass

run_and_report()
""",
    # The test body raises while members run without voters, and a watcher runs.
    "test_raises": START + """
class T(unittest.TestCase):
    def setUp(self):
        self.c = cluster_for(self, cluster=NAME, workdir=DIR)
        start(self.c)

    def test_raises(self):
        self.c.watch(self.c.members["a"])
        kill_voters(self.c)
        raise RuntimeError("the test fails")

run_and_report()
""",
    # No cleanup at all: an uncaught exception ends the program; atexit kills what is left.
    "no_cleanup": START + """
c = Cluster(cluster=NAME, workdir=DIR)
start(c)
kill_voters(c)
raise RuntimeError("the program fails")
""",
    # A driver that is terminated (Ctrl-C from a parent, a timeout): kill_on_signals.
    "sigterm": START + """
kill_on_signals()
c = Cluster(cluster=NAME, workdir=DIR)
start(c)
print("ready", flush=True)
time.sleep(600)
""",
}


class HarnessCleanup(unittest.TestCase):
    def run_child(self, which, terminate=False):
        """Runs child program `which` on a fresh cluster name; (name, pids it started, exit code,
        its output)."""
        name = f"leak-{which}-{uuid.uuid4().hex[:8]}"
        base = tempfile.mkdtemp(prefix="roster-it-")
        self.addCleanup(shutil.rmtree, base, ignore_errors=True)
        log = os.path.join(base, "child.log")
        child = Proc([PYTHON, "-c", CHILDREN[which], name, os.path.join(base, "cluster")], log_path=log,
                     capture=True, env=dict(os.environ, PYTHONPATH=PYLIB))
        self.addCleanup(self.kill_leftovers, name)
        self.addCleanup(child.kill)
        if terminate:
            child.wait_output(lambda lines: "ready" in lines, 60, "the child's cluster")
            child.signal(signal.SIGTERM)  # the child's own group: its daemons are in groups of their own
        lines = child.communicate(timeout=120)
        with open(log) as f:
            out = "\n".join(lines) + "\n" + f.read()
        pids = next(([int(x) for x in line.split()[1:]] for line in lines if line.startswith("pids")), [])
        self.assertEqual(len(pids), 5, f"the child started a cluster of 5 nodes:\n{out}")
        return name, pids, child.returncode, out

    def kill_leftovers(self, name):
        for pid in processes_with_arg(name):
            os.kill(pid, signal.SIGKILL)

    def assert_nothing_left(self, name, pids, out):
        """The child has exited: none of the processes it started names the cluster any more."""
        left = processes_with_arg(name)
        self.assertEqual(left, [], f"processes of cluster {name} still alive (of {pids})\n{out}")

    def assert_the_test_cleaned_up(self, out):
        """The child's failed test, not its atexit, killed the cluster: nothing was left after
        the test had run, while the child still lived."""
        left = re.search(r"^left(.*)$", out, re.M)
        self.assertIsNotNone(left, f"the child did not get to say what was left\n{out}")
        self.assertEqual(left.group(1).split(), [], f"the cluster's processes outlived the failed test\n{out}")

    def check(self, which, code, says=(), by_the_test=False, terminate=False):
        """Runs child `which`; it exits with `code`, its output holds each of `says`, and nothing
        of its cluster is left (already before it exited, with by_the_test)."""
        name, pids, got, out = self.run_child(which, terminate)
        self.assertEqual(got, code, out)
        for text in says:
            self.assertIn(text, out)
        if by_the_test:
            self.assert_the_test_cleaned_up(out)
        self.assert_nothing_left(name, pids, out)

    def test_a_failing_setup_kills_the_members_whose_voters_died(self):
        self.check("setup_fails", 1, ["FAILED", "timed out after 1 s waiting for every node to hold a view"],
                   by_the_test=True)

    def test_a_test_that_raises_kills_its_cluster_and_watcher(self):
        self.check("test_raises", 1, ["RuntimeError: the test fails"], by_the_test=True)

    def test_a_program_without_cleanup_kills_its_cluster_at_exit(self):
        self.check("no_cleanup", 1, ["RuntimeError: the program fails"])

    def test_sigterm_kills_the_cluster(self):
        self.check("sigterm", 128 + signal.SIGTERM, terminate=True)


class GivenMemberPorts(Cluster):
    """A Cluster whose next members get the ports of `plans` (then ports of its own)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.plans = []

    def _member_ports(self, name):
        return self.plans.pop(0) if self.plans else super()._member_ports(name)


class PortInUseRetry(unittest.TestCase):
    def occupy(self, port):
        """Listens on 127.0.0.1:port until the end of the test, as a program outside the scheme could."""
        s = socket.socket()
        self.addCleanup(s.close)
        s.bind(("127.0.0.1", port))
        s.listen()

    def test_a_voter_whose_port_is_taken_before_the_first_start_moves_to_fresh_ports(self):
        c = cluster_for(self)
        taken = c.voter_nodes[1].ports["peer"]  # in every voter's --voters
        self.occupy(taken)
        c.start_voters()
        self.assertNotEqual(c.voter_nodes[1].ports["peer"], taken)
        self.assertIn(f"--peer-listen 127.0.0.1:{taken}: address in use", c.voter_nodes[1].log_text())
        c.add_member("a")
        c.wait_formed(["v1", "v2", "v3", "a"])

    def test_a_member_whose_port_is_taken_starts_on_fresh_ports(self):
        c = GivenMemberPorts()
        self.addCleanup(c.cleanup_after, self)
        c.start_voters()
        busy, publish, metrics = allocate(3)
        self.occupy(busy)
        c.plans.append({"listen": busy, "publish": publish, "metrics": metrics})
        a = c.add_member("a")
        self.assertNotEqual(a.ports["listen"], busy)
        self.assertIn(f"--listen 127.0.0.1:{busy}: address in use", a.log_text())
        c.wait_formed(["v1", "v2", "v3", "a"])

    def test_after_formation_a_taken_port_is_an_error_that_names_its_holder(self):
        c = cluster_for(self)
        c.start_voters()
        c.wait_formed(["v1", "v2", "v3"])
        v3 = c.voter_nodes[2]
        v3.kill()
        v3.wait()
        self.occupy(v3.ports["listen"])
        with self.assertRaises(PortInUse) as cm:
            v3.start()
        self.assertIn(f"--listen {v3.listen}: address in use", str(cm.exception))
        self.assertIn(f"{v3.ports['listen']}: [{os.getpid()}]", str(cm.exception))


if __name__ == "__main__":
    unittest.main()

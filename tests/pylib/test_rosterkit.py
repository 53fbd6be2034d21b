"""Tests of the kit itself: the percentile definition, wait_for and holds_for, the port blocks,
Proc, key files, a Link's handshake outcomes against a CURVE server, the Python envelopes.

Run by ctest (label `unit`); alone: /usr/bin/python3 -m unittest tests/pylib/test_rosterkit.py
"""

import errno
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from rosterkit import netns, ports, wire  # noqa: E402
from rosterkit.keys import Key, authorized_line, make_key, write_authorized_keys  # noqa: E402
from rosterkit.link import Link  # noqa: E402
from rosterkit.cluster import test_failed  # noqa: E402
from rosterkit.paths import PYTHON  # noqa: E402
from rosterkit.procs import Proc, kill_all, live  # noqa: E402
from rosterkit.stats import median, percentile, summary  # noqa: E402
from rosterkit.waiting import GiveUp, WaitTimeout, holds_for, wait_for  # noqa: E402


class Percentile(unittest.TestCase):
    def test_nearest_rank_is_a_sample_at_rank_ceil_p_n(self):
        ten = [7, 3, 9, 1, 5, 10, 2, 8, 4, 6]  # 1..10, unsorted
        self.assertEqual(percentile(ten, 0), 1)
        self.assertEqual(percentile(ten, 10), 1)
        self.assertEqual(percentile(ten, 11), 2)
        self.assertEqual(percentile(ten, 50), 5)
        self.assertEqual(percentile(ten, 90), 9)   # exactly rank 9, not 9.000000000000002 -> 10
        self.assertEqual(percentile(ten, 99), 10)
        self.assertEqual(percentile(ten, 100), 10)
        self.assertEqual(percentile([0.4, 0.1, 0.3], 50), 0.3)
        self.assertEqual(percentile([30, 10, 20, 40], 75), 30)
        self.assertEqual(percentile(list(range(1, 1001)), 99.9), 999)

    def test_the_median_of_an_even_count_is_the_lower_middle_sample(self):
        self.assertEqual(median([4, 1, 3, 2]), 2)
        self.assertEqual(median([5]), 5)

    def test_empty_and_out_of_range(self):
        self.assertIsNone(percentile([], 50))
        self.assertEqual(summary([]), {"n": 0})
        with self.assertRaises(ValueError):
            percentile([1], 101)

    def test_summary(self):
        self.assertEqual(summary([3, 1, 2]), {"n": 3, "min": 1, "median": 2, "p90": 3, "p99": 3, "max": 3})


class WaitFor(unittest.TestCase):
    def test_returns_the_first_truthy_value(self):
        calls = []

        def pred():
            calls.append(1)
            return len(calls) if len(calls) >= 3 else None
        self.assertEqual(wait_for("three calls", pred, timeout=5, interval=0.001), 3)

    def test_the_timeout_names_what_was_awaited_and_the_last_error(self):
        def pred():
            raise ValueError("not up")
        start = time.monotonic()
        with self.assertRaises(WaitTimeout) as cm:
            wait_for("the moon", pred, timeout=0.2, interval=0.01)
        self.assertLess(time.monotonic() - start, 2)
        self.assertIn("timed out after 0.2 s waiting for the moon", str(cm.exception))
        self.assertIn("not up", str(cm.exception))
        self.assertIsInstance(cm.exception, AssertionError)
        self.assertIsInstance(cm.exception, TimeoutError)

    def test_give_up_ends_the_wait_at_once(self):
        def pred():
            raise GiveUp("the process exited")
        start = time.monotonic()
        with self.assertRaises(GiveUp):
            wait_for("something", pred, timeout=30)
        self.assertLess(time.monotonic() - start, 1)


class HoldsFor(unittest.TestCase):
    def test_a_predicate_that_keeps_holding_passes_after_the_window(self):
        calls = []

        def pred():
            calls.append(1)
            return "fine"
        start = time.monotonic()
        self.assertEqual(holds_for("fine", pred, 0.2, interval=0.01), "fine")
        self.assertGreaterEqual(time.monotonic() - start, 0.2)
        self.assertGreater(len(calls), 5)

    def test_the_first_failure_ends_it_and_says_what_it_returned(self):
        calls = []

        def pred():
            calls.append(1)
            return [] if len(calls) < 3 else ["v2: term 3 -> 4"]
        with self.assertRaises(AssertionError) as cm:
            holds_for("nothing changed", lambda: not pred() or None, 5, interval=0.001)
        self.assertIn("nothing changed stopped holding", str(cm.exception))
        self.assertEqual(len(calls), 3)

    def test_an_exception_counts_as_not_holding(self):
        def pred():
            raise ValueError("no answer")
        start = time.monotonic()
        with self.assertRaises(AssertionError) as cm:
            holds_for("answers", pred, 5)
        self.assertLess(time.monotonic() - start, 1)
        self.assertIn("no answer", str(cm.exception))


# A child that takes n ports, prints them and its blocks, then waits for stdin to close.
HOLDER = """
import sys
sys.path.insert(0, sys.argv[1])
from rosterkit import ports
got = ports.allocate(int(sys.argv[2]))
print(" ".join(map(str, got)), "|", " ".join(map(str, ports.held_blocks())), flush=True)
sys.stdin.read()
"""

# A child that takes a block, starts `sleep` as a Proc, and dies without any cleanup.
ORPHAN = """
import os, sys
sys.path.insert(0, sys.argv[1])
from rosterkit import ports
from rosterkit.procs import Proc
ports.allocate(1)
p = Proc(["sleep", "60"])
print(ports.held_blocks()[0], p.pid, flush=True)
os._exit(0)
"""


def block_is_locked(first):
    """Tries to lock a block's file; True if another process holds it."""
    fd = os.open(os.path.join(ports.LOCK_DIR, f"{first}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except OSError as e:
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return True
        raise
    finally:
        os.close(fd)


class Ports(unittest.TestCase):
    def holder(self, n):
        p = subprocess.Popen([PYTHON, "-c", HOLDER, HERE, str(n)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
        self.addCleanup(p.stdout.close)
        self.addCleanup(p.wait)
        self.addCleanup(p.stdin.close)
        got, blocks = p.stdout.readline().split("|")
        return p, [int(x) for x in got.split()], [int(x) for x in blocks.split()]

    def test_concurrent_processes_get_disjoint_ports_below_the_ephemeral_range(self):
        holders = [self.holder(100) for _ in range(3)]  # 100 ports: at least two blocks each
        all_ports = [p for _, got, _ in holders for p in got]
        self.assertEqual(len(all_ports), 300)
        self.assertEqual(len(set(all_ports)), 300, "no port handed to two processes")
        blocks = [b for _, _, bs in holders for b in bs]
        self.assertEqual(len(set(blocks)), len(blocks), "no block held by two processes")
        lo = ports.ephemeral_range()[0]
        self.assertTrue(all(1024 <= p < lo for p in all_ports))
        for _, got, bs in holders:
            self.assertTrue(all(any(b <= p < b + ports.BLOCK for b in bs) for p in got), "ports from own blocks")
            for b in bs:
                self.assertTrue(block_is_locked(b))

    def test_a_port_in_use_is_skipped(self):
        (first,) = ports.allocate(1)
        s = socket.socket()
        self.addCleanup(s.close)
        # Occupy the next ports of this process's block, then ask for more: none of them comes back.
        busy = []
        for p in range(first + 1, min(first + 4, ports.port_range()[1])):
            if ports.bindable(p):
                t = socket.socket()
                t.bind(("127.0.0.1", p))
                self.addCleanup(t.close)
                busy.append(p)
        got = ports.allocate(5)
        self.assertFalse(set(got) & set(busy))
        self.assertTrue(all(ports.bindable(p) for p in got))

    def test_a_block_is_free_again_once_its_holder_and_the_holders_children_are_gone(self):
        out = subprocess.run([PYTHON, "-c", ORPHAN, HERE], capture_output=True, text=True, timeout=30).stdout
        block, sleeper = (int(x) for x in out.split())
        self.addCleanup(lambda: os.path.exists(f"/proc/{sleeper}") and os.kill(sleeper, signal.SIGKILL))
        # The holder is gone, but the sleep it started inherited the lock.
        self.assertTrue(block_is_locked(block))
        os.kill(sleeper, signal.SIGKILL)
        wait_for(f"block {block} to be free", lambda: not block_is_locked(block), timeout=10)

    def test_listening_ports_sees_a_listening_socket(self):
        (port,) = ports.allocate(1)
        s = socket.socket()
        self.addCleanup(s.close)
        s.bind(("127.0.0.1", port))
        self.assertNotIn(port, ports.listening_ports(os.getpid()))
        s.listen()
        self.assertIn(port, ports.listening_ports(os.getpid()))
        self.assertIn(os.getpid(), ports.holders(port))


def gone(pid):
    """The process has exited (a zombie not reaped yet counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


class TakeLock(unittest.TestCase):
    def test_one_holder_at_a_time_and_free_again_once_closed(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "harness.lock")
            first = netns.take_lock(path)
            self.assertIsNotNone(first)
            start = time.monotonic()
            self.assertIsNone(netns.take_lock(path, timeout=0.3), "held by the first")
            self.assertGreaterEqual(time.monotonic() - start, 0.3, "it waited its timeout")
            first.close()
            second = netns.take_lock(path)
            self.assertIsNotNone(second, "free once the first is closed")
            second.close()


class Keys(unittest.TestCase):
    def test_a_key_file_is_the_secret_mode_0600_and_the_public_next_to_it(self):
        d = tempfile.mkdtemp(prefix="rosterkit-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        k = make_key(d, "a")
        self.assertEqual(os.stat(k.path).st_mode & 0o777, 0o600)
        with open(k.path) as f:
            self.assertEqual(f.read(), k.secret + "\n")
        with open(k.path + ".pub") as f:
            self.assertEqual(f.read(), k.public + "\n")
        self.assertEqual(len(k.public), 40)
        self.assertEqual(zmq.curve_public(k.secret.encode()).decode(), k.public)
        path = os.path.join(d, "authorized_keys")
        write_authorized_keys(path, [authorized_line(k, "member", "a"), authorized_line(k, "reader")])
        with open(path) as f:
            lines = [line for line in f.read().splitlines() if not line.startswith("#")]
        self.assertEqual(lines, [f"{k.public} member a", f"{k.public} reader"])
        back = Key.read(k.path, "a")
        self.assertEqual((back.name, back.public, back.secret, back.path), ("a", k.public, k.secret, k.path))


class Links(unittest.TestCase):
    """A Link tells how its handshake went, against a CURVE server with a ZAP handler."""

    def setUp(self):
        from zmq.auth.thread import ThreadAuthenticator
        # A context per test: its ZAP endpoint is its own, and a previous test's authenticator,
        # still being torn down, cannot hold it.
        ctx = zmq.Context()
        self.addCleanup(ctx.destroy, 0)
        self.good = Key.fresh("good")
        self.server = Key.fresh("server")
        auth = ThreadAuthenticator(ctx)
        auth.start()
        self.addCleanup(auth.stop)
        good = self.good.public.encode()

        class Provider:
            def callback(self, domain, key):
                return key == good
        auth.configure_curve_callback(domain="*", credentials_provider=Provider())
        self.router = ctx.socket(zmq.ROUTER)
        self.addCleanup(self.router.close, 0)
        self.router.curve_server = True
        self.router.curve_secretkey = self.server.secret.encode()
        (port,) = ports.allocate(1)
        self.router.bind(f"tcp://127.0.0.1:{port}")
        self.endpoint = f"127.0.0.1:{port}"

    def link(self, key):
        link = Link(self.endpoint, key, self.server.public)
        self.addCleanup(link.close)
        return link

    def test_an_authorized_key_gets_through(self):
        link = self.link(self.good)
        link.send(b"hello")
        self.assertEqual(link.handshake(), "ok")
        self.assertTrue(self.router.poll(5000))
        self.assertEqual(self.router.recv_multipart()[1], b"hello")

    def test_a_key_the_server_does_not_know_is_refused_with_400_and_nothing_arrives(self):
        link = self.link(Key.fresh("stranger"))
        link.send(b"hello")
        self.assertEqual(link.handshake(), "auth:400")
        self.assertFalse(self.router.poll(200))

    def test_no_curve_at_all_is_a_mechanism_mismatch_and_nothing_arrives(self):
        link = Link(self.endpoint)
        self.addCleanup(link.close)
        link.send(b"hello")
        # A mechanism mismatch, or a broken pipe when the server hangs up first (libzmq reports
        # whichever side notices first); never "ok".
        outcome = link.handshake()
        self.assertTrue(outcome.startswith(("protocol:", "failed:")), outcome)
        self.assertFalse(self.router.poll(200))


class Wire(unittest.TestCase):
    def test_a_join_request_carries_what_it_was_given_even_bytes_no_client_should_send(self):
        from roster.wire.fb import Envelope, JoinRequest
        data = wire.join_request("c", 7, b"\xff\x1b[31m", wire.U64_MAX, tags=[("k", "v")], member=3)
        self.assertEqual(int.from_bytes(data[:4], "little"), len(data) - 4)
        self.assertEqual(data[8:12], b"RSTR")
        env = Envelope.Envelope.GetRootAs(data, 4)
        self.assertEqual((env.ProtocolVersion(), env.Cluster(), env.Sender().MemberId()), (1, b"c", 3))
        body = JoinRequest.JoinRequest()
        body.Init(env.Body().Bytes, env.Body().Pos)
        self.assertEqual((body.RequestId(), body.Name(), body.Incarnation()), (7, b"\xff\x1b[31m", wire.U64_MAX))
        self.assertEqual((body.Tags(0).Key(), body.Tags(0).Value()), (b"k", b"v"))

    def test_a_join_command_is_an_rcmd_buffer_without_a_size_prefix(self):
        from roster.wire.fb import Command, JoinOp
        data = wire.join_command("ghost", 1)
        self.assertEqual(data[4:8], b"RCMD")
        cmd = Command.Command.GetRootAs(data, 0)
        op = JoinOp.JoinOp()
        op.Init(cmd.Changes(0).Op().Bytes, cmd.Changes(0).Op().Pos)
        self.assertEqual((op.Name(), op.Incarnation()), (b"ghost", 1))


class TestFailed(unittest.TestCase):
    def test_a_cleanup_knows_whether_its_test_failed(self):
        seen = {}

        class Child(unittest.TestCase):
            def setUp(self):
                self.addCleanup(lambda: seen.__setitem__(self._testMethodName, test_failed(self)))

            def test_fails(self):
                self.fail("on purpose")

            def test_raises(self):
                raise RuntimeError("on purpose")

            def test_passes(self):
                pass

            def test_fails_in_a_subtest(self):
                with self.subTest(mode="one"):
                    pass
                with self.subTest(mode="two"):
                    self.fail("on purpose")
        unittest.defaultTestLoader.loadTestsFromTestCase(Child).run(unittest.TestResult())
        self.assertEqual(seen, {"test_fails": True, "test_raises": True, "test_passes": False,
                                "test_fails_in_a_subtest": True})


class Procs(unittest.TestCase):
    def test_kill_reaches_the_whole_process_group(self):
        p = Proc(["sh", "-c", "sleep 60 & echo $!; wait"], capture=True)
        self.addCleanup(p.kill)
        grandchild = int(p.wait_output(lambda lines: lines and lines[0], 10, "the background sleep's pid"))
        p.kill()
        self.assertFalse(p.alive())
        wait_for("the background sleep to be gone", lambda: gone(grandchild), timeout=10)

    def test_wait_output_gives_up_when_the_process_exits(self):
        p = Proc(["sh", "-c", "echo one"], capture=True)
        self.addCleanup(p.kill)
        with self.assertRaises(GiveUp):
            p.wait_output(lambda lines: "two" in lines, 30, "a line that never comes")
        self.assertEqual(p.snapshot(), ["one"])

    def test_kill_all_kills_every_live_proc(self):
        procs = [Proc(["sleep", "60"]) for _ in range(3)]
        self.assertTrue(set(procs) <= set(live()))
        kill_all()
        self.assertFalse(any(p.alive() for p in procs))
        self.assertFalse(set(procs) & set(live()))


if __name__ == "__main__":
    unittest.main()

"""Integration tests of the limits that hold for any member (issue 13): real rosterd processes on
loopback. The refusal of bad bytes on the wire is the transport's (test_cluster.BadBytes and the
security tests); these cover what the core decides: bounded terms at start, a node's own name,
and --max-members.

Run by ctest (label `integration`); alone: /usr/bin/python3 -m unittest tests/integration/test_limits.py
"""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rosterkit.cluster import cluster_for  # noqa: E402
from rosterkit.metrics import scrape, total  # noqa: E402
from rosterkit.paths import binary  # noqa: E402
from rosterkit.ports import allocate  # noqa: E402
from rosterkit.procs import Proc  # noqa: E402
from rosterkit.waiting import wait_for  # noqa: E402

MAX_TERM = 1 << 62


def read(path):
    with open(path, "rb") as f:
        return f.read()


class StartRefusals(unittest.TestCase):
    """What a node holds or is given that it must not run with: a clear message, exit non-zero."""

    def test_a_persisted_term_above_the_largest_is_refused_and_the_data_dir_left_alone(self):
        d = tempfile.mkdtemp(prefix="roster-it-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        listen, peer, publish, metrics = allocate(4)
        args = [binary("rosterd"), "--name", "v1", "--listen", f"127.0.0.1:{listen}",
                "--publish", f"127.0.0.1:{publish}", "--metrics-listen", f"127.0.0.1:{metrics}",
                "--voter-id", "1", "--voters", f"1@127.0.0.1:{peer}", "--data-dir", d]
        db = os.path.join(d, "raft.db")
        incarnation = os.path.join(d, "incarnation")
        # What a forged AppendEntries with term 2^64 - 1 left on disk before terms were bounded
        # (stored as SQLite's signed 64 bits), and the first term past the bound.
        for stored, term in [(-1, (1 << 64) - 1), (MAX_TERM + 1, MAX_TERM + 1)]:
            p = Proc(args)
            self.addCleanup(p.kill)
            wait_for("the voter to create its data", lambda: os.path.exists(incarnation) and os.path.exists(db))
            p.kill()
            with sqlite3.connect(db) as conn:
                conn.execute("UPDATE hard_state SET term = ?", (stored,))
            conn.close()
            before = (read(db), read(incarnation))
            out = subprocess.run(args, capture_output=True, text=True, timeout=20)
            self.assertEqual(out.returncode, 1, out.stderr)
            self.assertIn(f"data file {db} holds term {term}, above the largest term {MAX_TERM}", out.stderr)
            self.assertIn(f"nothing in {d} was changed", out.stderr)
            self.assertEqual((read(db), read(incarnation)), before, "the refused data dir was written to")
            with sqlite3.connect(db) as conn:
                conn.execute("UPDATE hard_state SET term = 5")
            conn.close()

    def test_a_name_beyond_the_bounds_is_refused_at_start(self):
        listen, peer, publish, metrics = allocate(4)
        common = [b"--listen", f"127.0.0.1:{listen}".encode(), b"--publish", f"127.0.0.1:{publish}".encode(),
                  b"--metrics-listen", f"127.0.0.1:{metrics}".encode()]
        for name, message in [(b"evil\x1b[2J", "the name has control character U+001B at byte 4"),
                              (b"bad\xff", "the name has invalid UTF-8 at byte 3 (0xff)"),
                              (b"n" * 256, "the name is 256 bytes, at most 255")]:
            for role in ([b"--dev", b"--peer-listen", f"127.0.0.1:{peer}".encode()],
                         [b"--join", f"127.0.0.1:{peer}".encode()]):
                out = subprocess.run([binary("rosterd").encode(), b"--name", name] + common + role,
                                     capture_output=True, timeout=20)
                stderr = out.stderr.decode("utf-8", "replace")
                self.assertEqual(out.returncode, 1, stderr)
                self.assertIn(message, stderr)


class MaxMembers(unittest.TestCase):
    """--max-members 4 on three voters: room for one member; the next is rejected with the reason,
    says so in its log, and gets in once there is room again."""

    def test_a_join_beyond_max_members_waits_with_the_reason_until_there_is_room(self):
        c = cluster_for(self, voter_args=["--max-members", "4"])
        c.start_voters()
        c.add_member("first")
        c.wait_formed(["v1", "v2", "v3", "first"])
        late = c.add_member("late")
        wait_for("the late member to say why it cannot join",
                 lambda: "join rejected: the cluster has reached --max-members (4)" in late.log_text(), timeout=15)
        for v in c.voter_nodes:
            self.assertEqual(sorted(c.names_in_view(v)), ["first", "v1", "v2", "v3"])
        wait_for("the rejections to show in the voters' metrics", lambda: sum(
            total(scrape(v.metrics, timeout=2), "roster_requests_rejected_total", 'reason="max_members"') or 0
            for v in c.voter_nodes) > 0, timeout=10)
        # A graceful leave makes room: the late member is in at its next try.
        c.members["first"].kill(signal.SIGTERM)
        c.wait_formed(["v1", "v2", "v3", "late"])
        self.assertNotIn("first", c.names_in_view(c.voter_nodes[0]))


if __name__ == "__main__":
    unittest.main()

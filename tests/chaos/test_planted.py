"""The checker catches planted bugs in a real record: the run directory chaos.Short just made
(real rosterd processes, real subscribers) passes as recorded, and fails once one subscriber's
record is made to look like a buggy subscriber's — one that skipped a view, or one that delivered
a view with other members than everyone else.

    ROSTER_CHAOS_RECORD=build/chaos/short-seed14 python3 -m unittest -v test_planted
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "check.py")
RECORD = os.environ.get("ROSTER_CHAOS_RECORD", "")


def check(run_dir):
    r = subprocess.run([sys.executable, CHECK, run_dir, "--json"], capture_output=True, text=True, timeout=300)
    return r.returncode, json.loads(r.stdout) if r.stdout.strip() else None


def views_of(path):
    """(line number, view object) of every view line in one observer's history."""
    out = []
    with open(path) as f:
        for n, line in enumerate(f):
            obj = json.loads(line)
            item = obj.get("item")
            if isinstance(item, dict) and "view_id" in item and "event" not in item:
                out.append((n, obj))
    return out


@unittest.skipUnless(RECORD, "needs ROSTER_CHAOS_RECORD: a run directory of scripts/chaos")
class PlantedBugs(unittest.TestCase):
    def setUp(self):
        self.assertTrue(os.path.isdir(os.path.join(RECORD, "history")), f"no record in {RECORD}")
        self.dir = tempfile.mkdtemp(prefix="roster-planted-")
        self.run_dir = os.path.join(self.dir, "run")
        # The record only: logs and the nodes' data are not read by the checker.
        shutil.copytree(RECORD, self.run_dir, ignore=shutil.ignore_patterns("logs", "work"))
        histories = os.path.join(self.run_dir, "history")
        # The observer with the most views, and a view in the middle of its one session.
        self.observer = max(sorted(os.listdir(histories)),
                            key=lambda f: len(views_of(os.path.join(histories, f))))
        self.path = os.path.join(histories, self.observer)
        self.views = views_of(self.path)
        self.assertGreater(len(self.views), 4, "chaos.Short's record holds views")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def rewrite(self, change):
        with open(self.path) as f:
            lines = f.readlines()
        lines = change(lines)
        with open(self.path, "w") as f:
            f.writelines(lines)

    def test_the_record_as_it_is_passes(self):
        code, result = check(self.run_dir)
        self.assertEqual(code, 0, result and result["violations"])

    def test_a_subscriber_that_skips_a_view_is_caught(self):
        n, obj = self.views[len(self.views) // 2]
        skipped = obj["item"]["view_id"]
        self.rewrite(lambda lines: lines[:n] + lines[n + 1:])
        code, result = check(self.run_dir)
        self.assertEqual(code, 1)
        gaps = [v for v in result["violations"] if v["class"] == "order"]
        self.assertEqual(len(gaps), 1, result["violations"])
        self.assertEqual(gaps[0]["observer"], self.observer.removesuffix(".jsonl"))
        self.assertIn(f"gap: view {skipped + 1} delivered after view {skipped - 1}", gaps[0]["message"])

    def test_a_subscriber_that_delivers_other_members_is_caught(self):
        n, obj = self.views[len(self.views) // 2]
        view_id = obj["item"]["view_id"]

        def change(lines):
            o = json.loads(lines[n])
            o["item"]["members"] = o["item"]["members"][:-1]  # one member missing here only
            lines[n] = json.dumps(o) + "\n"
            return lines

        self.rewrite(change)
        code, result = check(self.run_dir)
        self.assertEqual(code, 1)
        disagreements = [v for v in result["violations"] if v["class"] == "agreement"]
        self.assertTrue(disagreements, result["violations"])
        self.assertTrue(any(v.get("view_id") == view_id for v in disagreements), disagreements)


if __name__ == "__main__":
    unittest.main()

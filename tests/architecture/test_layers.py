"""The layering rule of docs/architecture.md holds, and the checker would notice if it did not."""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
CHECK = os.path.join(HERE, "check_layers.py")


def run_check(root):
    return subprocess.run([sys.executable, CHECK, root], capture_output=True, text=True, timeout=60)


def write(root, path, text):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w", encoding="utf-8") as f:
        f.write(text)


class Layers(unittest.TestCase):
    def test_the_tree_respects_its_layers(self):
        r = run_check(ROOT)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_an_upward_include_and_an_upward_link_are_reported(self):
        with tempfile.TemporaryDirectory() as root:
            write(root, "docs/architecture.md", "```layers\ncommon\nviews\nnode\n```\n")
            write(root, "common/a.hh", '#include "common/b.hh"\n')
            write(root, "views/v.hh", '#include "common/a.hh"\n#include "node/n.hh"\n')
            write(root, "node/n.hh", '#include "views/v.hh"\n')
            write(root, "views/CMakeLists.txt", "roster_library(roster_views DEPS roster_node)\n")
            write(root, "node/CMakeLists.txt", "roster_library(roster_node DEPS roster_views)\n")
            r = run_check(root)
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn("views/v.hh:2: views/ includes node/", r.stdout)
            self.assertIn("views/CMakeLists.txt:1: views/ links roster_node of node/", r.stdout)
            self.assertNotIn("node/n.hh", r.stdout)
            self.assertNotIn("common/a.hh", r.stdout)

    def test_a_folder_may_not_use_one_on_its_own_line(self):
        with tempfile.TemporaryDirectory() as root:
            write(root, "docs/architecture.md", "```layers\ncommon\nnode client\n```\n")
            write(root, "client/c.hh", '#include "node/n.hh"\n')
            write(root, "node/n.hh", "\n")
            r = run_check(root)
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn("client/c.hh:1: client/ includes node/", r.stdout)

    def test_a_folder_above_everything_is_used_by_none(self):
        with tempfile.TemporaryDirectory() as root:
            write(root, "docs/architecture.md",
                  "```layers\ncommon\nnode\n```\n\n`tests/` and\n`fuzz/` sit above everything.\n")
            write(root, "node/n.hh", '#include "fuzz/harness.hh"\n')
            write(root, "node/CMakeLists.txt", "roster_library(roster_node DEPS roster_fuzz_harness)\n")
            write(root, "fuzz/CMakeLists.txt", "add_library(roster_fuzz_harness STATIC h.cc)\n")
            write(root, "fuzz/harness.hh", '#include "node/n.hh"\n')
            r = run_check(root)
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn("node/n.hh:1: node/ includes fuzz/", r.stdout)
            self.assertIn("node/CMakeLists.txt:1: node/ links roster_fuzz_harness of fuzz/", r.stdout)
            self.assertNotIn("fuzz/harness.hh", r.stdout)

    def test_a_missing_table_is_an_error(self):
        with tempfile.TemporaryDirectory() as root:
            write(root, "docs/architecture.md", "no table here\n")
            self.assertEqual(run_check(root).returncode, 2)


if __name__ == "__main__":
    unittest.main()

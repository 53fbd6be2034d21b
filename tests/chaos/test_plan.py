"""The chaos plan (plan.py) without running anything: a seed always draws the same plan, the steps
of a 3-minute run cover every kind once, steps never overlap, and the workload never stops a member
that is down nor starts one that is up."""

import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plan import KINDS, describe_plan, make_plan  # noqa: E402

VOTERS = ["v1", "v2", "v3"]
MEMBERS = ["m1", "m2", "m3", "m4", "m5"]


def plan(seed, minutes=3, kinds=KINDS, voters=VOTERS):
    return make_plan(seed, minutes, list(kinds), voters, MEMBERS, churn=MEMBERS[2:])


class Plan(unittest.TestCase):
    def test_a_seed_draws_the_same_plan_and_another_seed_another(self):
        self.assertEqual(plan(7), plan(7))
        self.assertEqual(describe_plan(plan(7)), describe_plan(plan(7)))
        self.assertNotEqual(plan(7)["steps"], plan(8)["steps"])

    def test_three_minutes_cover_every_kind(self):
        for seed in range(1, 30):
            kinds = {s["kind"] for s in plan(seed)["steps"]}
            self.assertEqual(kinds, set(KINDS), f"seed {seed}")

    def test_steps_follow_each_other_with_a_quiet_gap_inside_the_window(self):
        for seed in range(1, 30):
            p = plan(seed, minutes=5)
            for a, b in zip(p["steps"], p["steps"][1:]):
                self.assertLessEqual(a["at"] + a["duration"] + a["gap"], b["at"] + 1e-6)
                self.assertGreaterEqual(a["gap"], 3.0)
            last = p["steps"][-1]
            self.assertLessEqual(last["at"] + last["duration"], p["window_s"])

    def test_the_workload_only_stops_running_members_and_starts_stopped_ones(self):
        for seed in range(1, 30):
            up = {m: True for m in MEMBERS[2:]}
            for a in plan(seed, minutes=10)["workload"]:
                self.assertIn(a["node"], up, "only the churned members")
                if a["action"] == "start":
                    self.assertFalse(up[a["node"]])
                    up[a["node"]] = True
                else:
                    self.assertIn(a["action"], ("leave", "kill"))
                    self.assertTrue(up[a["node"]])
                    up[a["node"]] = False

    def test_choices_name_nodes_of_the_cluster(self):
        five = ["v1", "v2", "v3", "v4", "v5"]
        for seed in range(1, 30):
            for s in plan(seed, minutes=10, voters=five)["steps"]:
                if s["kind"] == "partition":
                    self.assertLess(len(s["minority"]), len(five) / 2)
                    self.assertTrue(set(s["minority"]) <= set(five))
                if s["kind"] == "sequential-cuts":
                    self.assertEqual(len(set(s["voters"])), 2)
                    self.assertIn(s["member"], MEMBERS)
                if s["kind"] == "voter-flap":
                    self.assertEqual(s["toggles"][0][2], "cut")
                    self.assertAlmostEqual(s["toggles"][-1][1], s["duration"])

    def test_a_subset_of_kinds_is_all_a_plan_holds(self):
        p = plan(3, kinds=["sequential-cuts", "member-loss"])
        self.assertEqual({s["kind"] for s in p["steps"]}, {"sequential-cuts", "member-loss"})


if __name__ == "__main__":
    unittest.main()

"""Tests of the chaos checker (tests/chaos/check.py): each rule catches its violation in a small
synthetic run directory, and a clean, realistic history passes.

Run by ctest as chaos.Checker (label `unit`); alone: /usr/bin/python3 -m unittest -v test_check
(from tests/chaos).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from checker import RunDirError, check  # noqa: E402
from checker import findings as F  # noqa: E402
from checker.report import render  # noqa: E402
from synthetic_run import SyntheticRun, realistic_run, write  # noqa: E402


def small(members=("m1", "m2"), heal_bound=10.0):
    """Three voters (ids 1-3, view 1), m1 (id 4, view 2) and m2 (id 5, view 3); observers on m1
    and on v2."""
    r = SyntheticRun(members=members, heal_bound=heal_bound)
    r.observe("lib-v2", "v2", 0.4)
    r.form(0.5)
    r.start(1.0, "m1")
    r.observe("ctl-m1", "m1", 1.15)
    r.start(1.2, "m2")
    return r


def cut_both_ways(node, voters):
    return [[a, b] for v in voters for a, b in ((node, v), (v, node))]


def history(files, observer):
    return files[f"history/{observer}.jsonl"]


def line_of(files, observer, vid, session=None):
    """The history line of observer that delivered view vid (in the given session, else the first)."""
    sess = 0
    for ln in history(files, observer):
        if "session" in ln:
            sess = ln["session"]
            continue
        if ln["item"].get("view_id") == vid and "event" not in ln["item"] and session in (None, sess):
            return ln
    raise AssertionError(f"{observer} has no view {vid}")


def every_sighting(files, vid):
    """Every copy of view vid in the files (history items, final and before_restart states)."""
    out = []
    for rel, content in files.items():
        if rel.startswith("history/"):
            out += [ln["item"] for ln in content if ln.get("item", {}).get("view_id") == vid]
        elif rel.startswith(("final/", "before_restart/")) and content["members"]["view_id"] == vid:
            out.append(content["members"])
    return out


class CheckerCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="roster-check-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.n = 0

    def check_files(self, files):
        self.n += 1
        path = os.path.join(self.tmp, f"run{self.n}")
        write(files, path)
        return check(path)

    @staticmethod
    def found(result, cls, severity="violation"):
        key = "violations" if severity == "violation" else "warnings"
        return [d for d in result[key] if d["class"] == cls]

    def assertOnly(self, result, cls, count=None):
        """The run fails, with violations of this class only (count of them if given)."""
        self.assertFalse(result["ok"])
        classes = {d["class"] for d in result["violations"]}
        self.assertEqual(classes, {cls}, render(result))
        if count is not None:
            self.assertEqual(len(result["violations"]), count, render(result))

    def assertClean(self, result, warnings=True):
        self.assertTrue(result["ok"], render(result))
        self.assertEqual(result["violations"], [])
        if warnings:
            self.assertEqual(result["warnings"], [], render(result))

    def row(self, result, kind):
        return next(r for r in result["table"] if r["nemesis"] == kind)


class CleanRun(CheckerCase):
    def test_a_realistic_history_passes_with_its_figures(self):
        res = self.check_files(realistic_run().build(60.0))
        self.assertClean(res)
        self.assertEqual(res["views"]["highest"], 10)
        # Step 1 isolated m3; it was back in view 6, first delivered 0.3 s + 4 ms after the heal.
        self.assertAlmostEqual(res["steps"][0]["heal_s"], 0.304, places=3)
        self.assertTrue(all(s["heal_s"] == 0 for s in res["steps"][1:]))
        # Two leadership changes, in the steps that caused them; no leader for 0.4 s after the kill.
        self.assertEqual([c["kind"] for c in res["leadership"]["changes"]], ["kill-leader", "full-restart"])
        self.assertEqual(self.row(res, "kill-leader")["leadership_changes"], 1)
        self.assertAlmostEqual(res["leadership"]["longest_leaderless"]["s"], 0.40, places=2)
        self.assertTrue(res["leadership"]["aim_met"])
        self.assertAlmostEqual(self.row(res, "kill-leader")["longest_leaderless_s"], 0.40, places=2)
        # The removals are all explained.
        verdicts = {(r["node"], r["reason"]): r["verdict"] for r in res["removals"]}
        self.assertEqual(verdicts, {("m3", "suspected"): "justified", ("v1", "suspected"): "justified",
                                    ("m2", "left"): "left"})

    def test_command_line_exit_codes_and_json(self):
        good = os.path.join(self.tmp, "good")
        write(realistic_run().build(60.0), good)
        files = realistic_run().build(60.0)
        history(files, "ctl-m1").remove(line_of(files, "ctl-m1", 3))
        bad = os.path.join(self.tmp, "bad")
        write(files, bad)
        cmd = [sys.executable, os.path.join(HERE, "check.py")]
        p = subprocess.run(cmd + [good], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("result: PASS", p.stdout)
        self.assertIn("| member-isolated | 1 |", p.stdout)
        p = subprocess.run(cmd + [bad, "--json"], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        out = json.loads(p.stdout)
        self.assertFalse(out["ok"])
        self.assertEqual([d["class"] for d in out["violations"]], [F.ORDER])
        p = subprocess.run(cmd + [os.path.join(self.tmp, "missing")], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertIn("run.json", p.stderr)
        with self.assertRaises(RunDirError):
            check(os.path.join(self.tmp, "missing"))

    def test_a_truncated_line_is_a_warning_not_a_failure(self):
        files = realistic_run().build(60.0)
        path = os.path.join(self.tmp, "trunc")
        write(files, path)
        with open(os.path.join(path, "history", "ctl-m1.jsonl"), "a") as f:
            f.write('{"t": 1733260059.9, "observer": "ctl-m1", "item": {"view_')
        res = check(path)
        self.assertTrue(res["ok"])
        self.assertEqual(len(self.found(res, F.INPUT, "warning")), 1)


class Order(CheckerCase):
    def test_a_gap_is_caught_at_its_observer(self):
        files = realistic_run().build(60.0)
        history(files, "ctl-m1").remove(line_of(files, "ctl-m1", 6))
        res = self.check_files(files)
        self.assertOnly(res, F.ORDER, 1)
        d = res["violations"][0]
        self.assertEqual((d["observer"], d["view_id"]), ("ctl-m1", 7))
        self.assertIn("missing 6", d["message"])
        self.assertEqual(self.row(res, "kill-leader")["agreement_order"], 1)   # view 7 came in step 2

    def test_a_gap_marked_resync_is_allowed(self):
        files = realistic_run().build(60.0)
        history(files, "ctl-m1").remove(line_of(files, "ctl-m1", 6))
        line_of(files, "ctl-m1", 7)["item"]["resync"] = True
        self.assertClean(self.check_files(files))

    def test_a_reorder_is_caught(self):
        files = realistic_run().build(60.0)
        h = history(files, "lib-v2")
        a, b = h.index(line_of(files, "lib-v2", 7)), h.index(line_of(files, "lib-v2", 8))
        h[a], h[b] = h[b], h[a]
        res = self.check_files(files)
        self.assertFalse(res["ok"])
        msgs = [d["message"] for d in res["violations"] if d["observer"] == "lib-v2"]
        self.assertTrue(any("view 7 delivered after view 8" in m for m in msgs), render(res))
        self.assertEqual({d["class"] for d in res["violations"]}, {F.ORDER})

    def test_a_new_session_may_start_anywhere(self):
        # lib-v2's second session (after the full restart) starts at view 10 again: no violation.
        files = realistic_run().build(60.0)
        self.assertEqual(line_of(files, "lib-v2", 10, session=2)["item"]["view_id"], 10)
        self.assertClean(self.check_files(files))


class Agreement(CheckerCase):
    def test_a_disagreeing_view_is_caught_with_its_step(self):
        files = realistic_run().build(60.0)
        item = line_of(files, "lib-v2", 5)["item"]
        item["members"][3]["incarnation"] = 9       # m1 (id 4)
        res = self.check_files(files)
        self.assertOnly(res, F.AGREEMENT, 1)
        d = res["violations"][0]
        self.assertEqual((d["observer"], d["view_id"], d["step"], d["kind"]), ("lib-v2", 5, 1, "member-isolated"))
        self.assertIn("incarnation 9", d["message"])
        text = render(res)
        self.assertIn("[agreement] +5.308 s at lib-v2 view 5", text)   # lib-v2's lag is 8 ms
        self.assertIn("during step 1 member-isolated (m3 cut from v1, v2, v3 (both ways))", text)
        self.assertIn("result: FAIL", text)

    def test_strings_from_the_run_are_escaped_in_the_report(self):
        files = realistic_run().build(60.0)
        line_of(files, "lib-v2", 5)["item"]["members"][3]["address"] = "10.214.0.20:7400\x1b[2J\u202e"
        res = self.check_files(files)
        self.assertOnly(res, F.AGREEMENT, 1)
        text = render(res)
        self.assertNotIn("\x1b", text)
        self.assertNotIn("\u202e", text)
        self.assertIn("10.214.0.20:7400\\x1b[2J\\u202e", text)

    def test_a_final_state_that_disagrees_is_caught(self):
        files = realistic_run().build(60.0)
        files["final/v3.json"]["members"]["members"].pop()    # m4 missing from view 10 at v3
        res = self.check_files(files)
        self.assertIn(F.AGREEMENT, {d["class"] for d in res["violations"]})
        self.assertEqual(self.found(res, F.AGREEMENT)[0]["observer"], "final/v3")

    def test_a_leader_that_differs_is_a_disagreement(self):
        files = realistic_run().build(60.0)
        line_of(files, "ctl-m1", 8)["item"]["leader"]["fencing_token"] = 8
        res = self.check_files(files)
        self.assertOnly(res, F.AGREEMENT, 1)
        self.assertIn("token 8 where the others have leader 2 v2 token 7", res["violations"][0]["message"])


class LeaderAndFencing(CheckerCase):
    def test_a_leader_that_is_not_the_lowest_id_is_caught(self):
        r = small()
        files = r.build(10.0)
        for item in every_sighting(files, 3):
            item["leader"] = {"id": 4, "name": "m1", "fencing_token": 1}
        res = self.check_files(files)
        self.assertIn(F.LEADER, {d["class"] for d in res["violations"]})
        d = self.found(res, F.LEADER)[0]
        self.assertEqual(d["view_id"], 3)
        self.assertIn("lowest member id is 1 v1", d["message"])

    @staticmethod
    def v1_killed():
        """small(), then v1 killed: view 4 without it (leader v2, token 4), view 5 with v1 back as
        id 6 (v2 stays leader, token 4)."""
        r = small()
        r.step("kill-voter", 2.8, 4.0, "v1 killed", killed=["v1"])
        r.voter_down("v1", 2.8, 4.0)
        r.commit(3.0, remove=[("v1", "suspected")])
        r.commit(4.5, join=["v1"])
        return r

    def test_a_fencing_token_going_down_is_caught(self):
        files = self.v1_killed().build(10.0)
        self.assertClean(self.check_files(files))
        for item in every_sighting(files, 5):
            item["leader"]["fencing_token"] = 3
        res = self.check_files(files)
        self.assertOnly(res, F.FENCING)
        msgs = " / ".join(d["message"] for d in res["violations"])
        self.assertIn("fencing token went down: 4 in view 4, 3 in view 5", msgs)

    def test_a_new_leader_takes_the_view_of_its_takeover_as_token(self):
        files = self.v1_killed().build(10.0)
        for item in every_sighting(files, 4):
            item["leader"]["fencing_token"] = 1          # kept the old leader's token
        res = self.check_files(files)
        self.assertOnly(res, F.FENCING)
        self.assertIn("its fencing token is 1, not 4", res["violations"][0]["message"])


class Durability(CheckerCase):
    def test_a_view_lost_across_a_full_restart_is_caught(self):
        r = realistic_run()
        files = r.build(60.0)
        # The voters come back at view 9: m4's join (view 10) is lost.
        nine = r.view(9)
        for p in files["leaders.jsonl"]:
            if p["t"] > r.at(55.0) and "view_id" in p:
                p["view_id"] = 9
        for v in r.voter_names:
            files[f"final/{v}.json"]["members"] = nine
        line_of(files, "lib-v2", 10, session=2)["item"] = dict(nine, resync=False)
        res = self.check_files(files)
        self.assertFalse(res["ok"])
        dur = self.found(res, F.DURABILITY)
        self.assertEqual({d["node"] for d in dur}, {"v1", "v2", "v3"})
        self.assertTrue(any("reports view 9 after the full restart of step 5; it held view 10" in d["message"]
                            for d in dur), render(res))
        self.assertTrue(any("final state of v1 is view 9, below view 10" in d["message"] for d in dur))
        # One for each voter's polls and one for its final state, all seen after the restart step
        # ended (55 s): between steps.
        self.assertEqual(sorted((d["observer"], d["node"]) for d in dur),
                         sorted([("leaders.jsonl", v) for v in r.voter_names]
                                + [(f"final/{v}", v) for v in r.voter_names]), render(res))
        self.assertEqual({d["kind"] for d in dur}, {"between steps"})

    def test_a_view_that_changes_across_a_full_restart_is_caught(self):
        r = realistic_run()
        files = r.build(60.0)
        changed = r.view(10)
        changed["members"] = [m for m in changed["members"] if m["name"] != "m4"]   # view 10 without m4
        line_of(files, "lib-v2", 10, session=2)["item"] = dict(changed, resync=False)
        res = self.check_files(files)
        dur = self.found(res, F.DURABILITY)
        self.assertEqual(len(dur), 1, render(res))
        self.assertEqual((dur[0]["observer"], dur[0]["view_id"]), ("lib-v2", 10))
        self.assertIn("lacks member 9 m4", dur[0]["message"])
        self.assertIn(F.AGREEMENT, {d["class"] for d in res["violations"]})


class FalseRemovals(CheckerCase):
    def test_a_member_cut_from_one_voter_only_and_removed_is_a_false_removal(self):
        r = small()
        r.step("member-one-voter", 5.0, 12.0, "m2 cut from v1 (both ways)", cut=cut_both_ways("m2", ["v1"]))
        r.commit(6.0, remove=[("m2", "suspected")])     # view 4
        r.commit(6.5, join=["m2"])                       # view 5
        res = self.check_files(r.build(20.0))
        self.assertOnly(res, F.FALSE_REMOVAL, 1)
        d = res["violations"][0]
        self.assertEqual((d["node"], d["view_id"], d["observer"], d["step"]), ("m2", 4, "ctl-m1", 1))
        self.assertAlmostEqual(d["t_rel"], 6.004, places=3)
        self.assertIn("step 1 cut it from v1 only", d["message"])
        self.assertIn("step 1 member-one-voter (m2 cut from v1 (both ways))", d["where"])
        self.assertEqual(self.row(res, "member-one-voter")["false_removals"], 1)

    def test_a_voters_own_entry_needs_a_majority_of_the_other_voters(self):
        r = small()
        r.step("voter-link", 5.0, 12.0, "v3 cut from v1", cut=cut_both_ways("v3", ["v1"]))
        r.commit(6.0, remove=[("v3", "suspected")])
        r.commit(6.5, join=["v3"])
        res = self.check_files(r.build(20.0))
        self.assertOnly(res, F.FALSE_REMOVAL, 1)
        self.assertEqual(res["violations"][0]["node"], "v3")
        r = small()
        r.step("voter-isolated", 5.0, 12.0, "v3 cut from v1, v2", cut=cut_both_ways("v3", ["v1", "v2"]))
        r.commit(6.0, remove=[("v3", "suspected")])
        r.commit(12.5, join=["v3"])
        self.assertClean(self.check_files(r.build(30.0)))

    def test_justified_removals_are_not_flagged(self):
        r = small(members=("m1", "m2", "m3", "m4"))
        r.start(1.4, "m3")                                # view 4 (id 6)
        r.start(1.6, "m4")                                # view 5 (id 7)
        r.step("kill-member", 5.0, 8.0, "m2 killed", killed=["m2"])
        r.commit(5.3, remove=[("m2", "suspected")])       # killed: justified
        r.start(8.0, "m2")
        r.step("member-two-voters", 12.0, 20.0, "m3 cut from v1, v2 (one way each)",
               cut=[["m3", "v1"], ["v2", "m3"]])
        r.commit(12.3, remove=[("m3", "suspected")])      # cut from 2 of 3 voters: justified
        r.commit(20.3, join=["m3"])
        r.step("lossy-member", 25.0, 30.0, "80% loss on m4", loss={"m4": 80})
        r.commit(27.0, remove=[("m4", "suspected")])      # loss on the member: justified
        r.commit(30.3, join=["m4"])
        r.crash(35.0, "m1")                               # workload kill: justified, no step
        res = self.check_files(r.build(50.0))
        self.assertClean(res)
        why = {x["node"]: x["why"] for x in res["removals"]}
        self.assertIn("m2 killed in step 1", why["m2"])
        self.assertIn("m3 cut from v1, v2 in step 2", why["m3"])
        self.assertIn("80% loss on m4", why["m4"])
        self.assertIn("workload kill of m1", why["m1"])

    def test_the_window_is_ten_seconds_before_the_removal(self):
        for at, false in ((15.5, False), (16.5, True)):
            r = small(heal_bound=20.0)   # the late removal delays the heal: not what this tests
            r.step("member-isolated", 5.0, 6.0, "m2 cut from every voter", cut=cut_both_ways("m2", r.voter_names))
            r.commit(at, remove=[("m2", "suspected")])
            r.commit(at + 0.5, join=["m2"])
            res = self.check_files(r.build(30.0))
            self.assertEqual(not res["ok"], false, render(res))
            if false:
                self.assertOnly(res, F.FALSE_REMOVAL, 1)
                self.assertEqual(res["violations"][0]["kind"], "between steps")
                self.assertIn("no step (step 1 member-isolated ended", res["violations"][0]["where"])

    def test_a_removal_under_cpu_starvation_has_its_own_column(self):
        r = small()
        r.step("cpu-starvation", 5.0, 10.0, "every core busy", starved=True)
        r.commit(7.0, remove=[("m2", "suspected")])
        r.commit(7.5, join=["m2"])
        res = self.check_files(r.build(20.0))
        self.assertTrue(res["ok"], render(res))
        self.assertEqual(len(self.found(res, F.STARVED_REMOVAL, "warning")), 1)
        row = self.row(res, "cpu-starvation")
        self.assertEqual((row["false_removals"], row["false_removals_starved"]), (0, 1))

    def test_a_left_removal_needs_a_leave(self):
        r = small()
        r.commit(5.0, remove=[("m2", "left")])
        res = self.check_files(r.build(20.0))
        left = self.found(res, F.LEFT)
        self.assertEqual([d["node"] for d in left], ["m2"])
        # m2 never left, so it is live and missing from the final views too.
        self.assertEqual({d["class"] for d in res["violations"]}, {F.LEFT, F.LIVENESS})
        r = small()
        r.leave(5.0, "m2")
        self.assertClean(self.check_files(r.build(20.0)))


class Liveness(CheckerCase):
    def isolated_m2(self, rejoin_at, next_step=None):
        r = small()
        r.step("member-isolated", 5.0, 8.0, "m2 cut from every voter", cut=cut_both_ways("m2", r.voter_names))
        r.commit(5.3, remove=[("m2", "suspected")])
        if next_step is not None:
            r.step("flapping-link", next_step, next_step + 1.0, "v1 <-> v2 flapping",
                   cut=[["v1", "v2"], ["v2", "v1"]])
        r.commit(rejoin_at, join=["m2"])
        return r

    def test_a_slow_heal_is_caught(self):
        res = self.check_files(self.isolated_m2(23.0).build(40.0))
        self.assertOnly(res, F.LIVENESS, 1)
        d = res["violations"][0]
        self.assertEqual((d["step"], d["kind"]), (1, "member-isolated"))
        self.assertIn("took 15.004 s", d["message"])
        self.assertIn("m2", d["message"])
        self.assertAlmostEqual(res["steps"][0]["heal_s"], 15.004, places=3)
        self.assertAlmostEqual(self.row(res, "member-isolated")["heal_max_s"], 15.004, places=3)

    def test_a_quick_heal_passes_and_is_measured(self):
        res = self.check_files(self.isolated_m2(8.4).build(40.0))
        self.assertClean(res)
        self.assertAlmostEqual(res["steps"][0]["heal_s"], 0.404, places=3)

    def test_a_removal_just_after_the_step_counts_until_the_member_is_back(self):
        r = small()
        r.step("member-isolated", 5.0, 8.0, "m2 cut from every voter", cut=cut_both_ways("m2", r.voter_names))
        r.commit(8.2, remove=[("m2", "suspected")])   # detected late: the views held m2 at the step's end
        r.commit(8.6, join=["m2"])
        res = self.check_files(r.build(20.0))
        self.assertClean(res)
        self.assertAlmostEqual(res["steps"][0]["heal_s"], 0.604, places=3)

    def test_a_heal_cut_short_by_the_next_step_is_not_judged(self):
        res = self.check_files(self.isolated_m2(23.0, next_step=10.0).build(40.0))
        self.assertEqual(len(self.found(res, F.NOT_JUDGED, "warning")), 1)
        self.assertFalse(res["steps"][0]["heal_judged"])
        # The next step's own heal (from 11 s) is still judged, and it is slow.
        self.assertOnly(res, F.LIVENESS, 1)
        self.assertEqual(res["violations"][0]["step"], 2)

    def test_a_member_that_never_comes_back_fails_at_the_end_too(self):
        r = small()
        r.step("member-isolated", 5.0, 8.0, "m2 cut from every voter", cut=cut_both_ways("m2", r.voter_names))
        r.commit(5.3, remove=[("m2", "suspected")])
        res = self.check_files(r.build(40.0))
        self.assertOnly(res, F.LIVENESS)
        self.assertIsNone(res["steps"][0]["heal_s"])
        self.assertEqual({d["observer"] for d in res["violations"]}, {None, "final/v1", "final/v2", "final/v3"})

    def test_a_killed_voter_is_not_required_in_its_own_step(self):
        r = small()
        r.step("kill-voter", 5.0, 8.0, "v3 killed", killed=["v3"])
        r.voter_down("v3", 5.0, 8.0)
        r.commit(5.3, remove=[("v3", "suspected")])
        r.step("flapping-link", 20.0, 21.0, "v1 <-> v2", cut=[["v1", "v2"], ["v2", "v1"]])
        r.commit(20.5, join=["v3"])   # back only 12.5 s after its step: fine for step 1 ...
        res = self.check_files(r.build(40.0))
        self.assertEqual(res["steps"][0]["heal_s"], 0)
        self.assertClean(res)
        r = small()
        r.step("kill-voter", 5.0, 8.0, "v3 killed", killed=["v3"])
        r.voter_down("v3", 5.0, 8.0)
        r.commit(5.3, remove=[("v3", "suspected")])
        r.step("flapping-link", 20.0, 21.0, "v1 <-> v2", cut=[["v1", "v2"], ["v2", "v1"]])
        r.commit(31.5, join=["v3"])   # ... but the next step needs it back within its bound
        res = self.check_files(r.build(50.0))
        self.assertOnly(res, F.LIVENESS, 1)
        self.assertEqual(res["violations"][0]["step"], 2)


class Leadership(CheckerCase):
    def test_a_leadership_change_during_a_flapping_link_is_counted(self):
        r = small()
        r.step("flapping-link", 5.0, 12.0, "v1 <-> v2 cut and restored every 0.5 s",
               cut=[["v1", "v2"], ["v2", "v1"]])
        r.lead(6.5, 2, None)
        r.lead(7.0, 3, 2)
        r.lead(15.0, 4, 1)      # one more, between steps
        res = self.check_files(r.build(20.0))
        self.assertClean(res)
        self.assertEqual(self.row(res, "flapping-link")["leadership_changes"], 1)
        self.assertEqual(self.row(res, "between steps")["leadership_changes"], 1)
        c = res["leadership"]["changes"][0]
        self.assertEqual((c["term"], c["leader_voter_id"], c["step"]), (3, 2, 1))
        # v3 could talk to either: the time without a leader counts, in this step. The checker sees it
        # through the polls (every 200 ms, v1 v2 v3 10 ms apart): from v1's answer at 6.60 (no longer
        # leader) to v2's at 7.01 (leader in term 3, v1 agreeing since 7.00).
        self.assertAlmostEqual(self.row(res, "flapping-link")["longest_leaderless_s"], 0.41, delta=0.001)

    def test_no_leader_while_no_majority_can_talk_is_not_counted(self):
        r = small()
        r.step("pause-voters", 5.0, 8.0, "v2 and v3 paused", paused=["v2", "v3"])
        r.voter_down("v2", 5.0, 8.0, "paused")
        r.voter_down("v3", 5.0, 8.0, "paused")
        r.lead(5.0, 2, None)
        r.lead(8.3, 3, 1)
        res = self.check_files(r.build(20.0))
        self.assertClean(res)
        # Counted from the end of the pause (8.00) to the polls at 8.40 and 8.41 that agree on v1.
        ll = res["leadership"]["longest_leaderless"]
        self.assertAlmostEqual(ll["s"], 0.41, delta=0.001)
        self.assertAlmostEqual(ll["start_rel"], 8.0, delta=0.001)

    def kill_loop(self, with_events):
        r = small()
        fields = {"killed": ["v1", "v2"]}
        if with_events:
            fields["events"] = [{"t": r.at(t), "what": what, "node": v}
                                for t, what, v in ((5.0, "kill", "v1"), (5.7, "new-leader", "v2"), (6.0, "start", "v1"),
                                                   (8.0, "kill", "v2"), (9.0, "start", "v2"))]
        r.step("leader-kill-loop", 5.0, 12.0, "kill -9 of the consensus leader in a loop: 2 kills (v1, v2)",
               **fields)
        r.voter_down("v1", 5.0, 6.0)
        r.voter_down("v2", 8.0, 9.0)
        r.lead(5.0, 2, None)
        r.lead(5.5, 3, 2)
        r.lead(8.0, 3, None)
        r.lead(8.7, 4, 3)
        return self.check_files(r.build(20.0))

    def test_a_kill_loop_counts_the_time_without_a_leader_while_a_majority_was_up(self):
        # Its "events" say when each voter was down: two of three were up all along, so both
        # elections count; the longer from v3's poll at 8.02 (v2 killed) to v3 leading at 8.82.
        res = self.kill_loop(with_events=True)
        self.assertClean(res)
        self.assertAlmostEqual(self.row(res, "leader-kill-loop")["longest_leaderless_s"], 0.80, delta=0.001)
        self.assertEqual(self.row(res, "leader-kill-loop")["leadership_changes"], 2)
        # Without them, v1 and v2 count as down for the whole step: no majority, nothing counted.
        res = self.kill_loop(with_events=False)
        self.assertIsNone(self.row(res, "leader-kill-loop")["longest_leaderless_s"])

    def test_a_flapping_cut_counts_only_while_it_is_in_force(self):
        r = small()
        apart = [[a, b] for a in r.voter_names for b in r.voter_names if a != b]
        r.step("voter-flap", 5.0, 10.0, "every voter cut from every other, then restored", cut=apart,
               flaps=[[r.at(5.0), r.at(7.0)]])
        r.lead(5.0, 2, None)
        r.lead(7.5, 3, 1)
        res = self.check_files(r.build(20.0))
        ll = res["leadership"]["longest_leaderless"]
        self.assertAlmostEqual(ll["start_rel"], 7.0, delta=0.001)   # the cut was lifted at 7.0
        self.assertAlmostEqual(ll["s"], 0.61, delta=0.001)          # to v2's poll at 7.61

    def test_a_long_time_without_a_leader_misses_the_aim(self):
        r = small()
        r.step("kill-leader", 5.0, 10.0, "v1 killed", killed=["v1"])
        r.voter_down("v1", 5.0, 10.0)
        r.lead(5.0, 2, None)
        r.lead(6.6, 3, 2)
        res = self.check_files(r.build(20.0))
        self.assertTrue(res["ok"])
        self.assertFalse(res["leadership"]["aim_met"])
        self.assertEqual(len(self.found(res, F.LEADERLESS, "warning")), 1)
        # From v3's answer at 5.02 (v1 still stood, v2 had given up at 5.01) to v2's at 6.62.
        self.assertAlmostEqual(self.row(res, "kill-leader")["longest_leaderless_s"], 1.60, delta=0.001)

    def test_two_leaders_in_one_term_break_election_safety(self):
        r = small()
        files = r.build(10.0)
        p = next(p for p in files["leaders.jsonl"] if p["voter"] == "v3" and p["t"] > r.at(5.0))
        p.update(role="leader", leader_voter_id=3)     # term 2, whose leader is v1
        res = self.check_files(files)
        self.assertOnly(res, F.ELECTION, 1)
        self.assertIn("term 2 has two leaders: voter 1", res["violations"][0]["message"])


class Events(CheckerCase):
    def test_an_event_before_its_view_is_a_warning(self):
        files = realistic_run().build(60.0)
        h = history(files, "ctl-m3")
        ev = next(ln for ln in h if ln.get("item", {}).get("event") == "rejoined")
        view6 = line_of(files, "ctl-m3", 6)
        ev["t"] = view6["t"] - 0.9
        h.remove(ev)
        h.insert(h.index(view6), ev)
        res = self.check_files(files)
        self.assertTrue(res["ok"], render(res))
        w = self.found(res, F.EVENT_BEFORE_VIEW, "warning")
        self.assertEqual(len(w), 1)
        self.assertIn("came 0.900 s before the observer delivered view 6", w[0]["message"])

    def test_an_event_that_contradicts_the_views_is_a_violation(self):
        files = realistic_run().build(60.0)
        ev = next(ln for ln in history(files, "ctl-m3") if ln.get("item", {}).get("event") == "rejoined")
        ev["item"]["new_member_id"] = 5      # m2's id, not in... it is in view 6, but it is m2's
        res = self.check_files(files)
        self.assertOnly(res, F.EVENT, 1)
        self.assertIn("member 5 is m2, not the observer's node m3", res["violations"][0]["message"])
        files = realistic_run().build(60.0)
        ev = next(ln for ln in history(files, "ctl-m3") if ln.get("item", {}).get("event") == "removed")
        ev["item"]["view_id"] = 4            # m3 is still in view 4
        res = self.check_files(files)
        self.assertOnly(res, F.EVENT, 1)
        self.assertIn("member 6 is still in view 4", res["violations"][0]["message"])


if __name__ == "__main__":
    unittest.main()

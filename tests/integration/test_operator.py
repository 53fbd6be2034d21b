"""Integration tests of issue 15's server side: operator removal, GET /health and /ready, member
tags end to end (join -> view -> metric -> a tag-filtered leader), with real rosterd processes on
loopback.

Run by ctest (label `integration`); alone: /usr/bin/python3 -m unittest tests/integration/test_operator.py
"""

import json
import os
import re
import signal
import subprocess
import sys
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rosterkit import wire  # noqa: E402
from rosterkit.cluster import cluster_for  # noqa: E402
from rosterkit.keys import authorized_line  # noqa: E402
from rosterkit.link import Link, request_id  # noqa: E402
from rosterkit.metrics import samples, scrape  # noqa: E402
from rosterkit.paths import binary  # noqa: E402
from rosterkit.procs import Proc  # noqa: E402
from rosterkit.waiting import holds_for, wait_for  # noqa: E402


def http(endpoint, path):
    """(status, parsed JSON body) of GET http://endpoint/path."""
    try:
        with urllib.request.urlopen(f"http://{endpoint}{path}", timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def values(endpoint, name, **labels):
    """The values of metric `name` at `endpoint` whose labels include `labels`."""
    want = [f'{k}="{v}"' for k, v in labels.items()]
    return [v for text, v in samples(scrape(endpoint), name).items() if all(w in text for w in want)]


def full_view(c, node, key=None, server_key=None):
    with Link(node.listen, key, server_key) as link:
        rid = request_id()
        reply = link.request(wire.sync_request(c.cluster, rid, full=True), "SyncReply", rid)
        return reply["full"]


def remove(c, node, key=None, server_key=None, timeout=5.0, **which):
    with Link(node.listen, key, server_key) as link:
        rid = request_id()
        return link.request(wire.remove_request(c.cluster, rid, **which), "RemoveReply", rid, timeout=timeout)


def status(c, node):
    with Link(node.listen) as link:
        rid = request_id()
        return link.request(wire.status_request(c.cluster, rid), "StatusReply", rid)


def rosterctl(*args, timeout=30):
    """(exit code, stdout, stderr) of rosterctl: its remove and health commands call
    client::remove_member and client::health (client/admin.hh)."""
    out = subprocess.run([binary("rosterctl")] + [str(a) for a in args], capture_output=True, text=True,
                         timeout=timeout)
    return out.returncode, out.stdout.strip(), out.stderr.strip()


def names(view):
    return sorted(m["name"].decode() for m in view["members"].values())


class TagsAndOperatorRemoval(unittest.TestCase):
    """Members join with tags; the views carry them; a voter counts them in a bounded metric;
    leader_election --tag elects the lowest id among the tagged members; an operator removes that
    leader and leadership moves to the next tagged member, with a larger token. The removed
    rosterd stays out until it restarts."""

    def setUp(self):
        self.c = cluster_for(self, voters=3, voter_args=["--metrics-tag-keys", "role"])
        self.c.start_voters()
        self.c.wait_formed(["v1", "v2", "v3"])
        self.m = {}
        for name, tags in (("m1", ["role=scheduler", "zone=a"]), ("m2", ["role=scheduler"]), ("m3", [])):
            node = self.c.add_member_node(name)
            for t in tags:
                node.args += ["--tag", t]
            self.m[name] = node.start()
        self.c.wait_formed(["v1", "v2", "v3", "m1", "m2", "m3"])

    def test_tags_reach_the_views_a_metric_and_a_tag_filtered_leader_that_removal_moves_on(self):
        c, v1 = self.c, self.c.voter_nodes[0]
        view = full_view(c, v1)
        tags = {m["name"].decode(): m["tags"] for m in view["members"].values()}
        self.assertEqual(tags["m1"], [("role", "scheduler"), ("zone", "a")])
        self.assertEqual(tags["m2"], [("role", "scheduler")])
        self.assertEqual(tags["m3"], [])
        self.assertIn("tags role=scheduler zone=a", self.m["m1"].log_text(), "the start line shows the tags")
        # rosterctl shows them: in the members table (k=v,k2=v2) and in the JSON.
        code, out, err = rosterctl("members", "--endpoint", v1.listen)
        self.assertEqual(code, 0, err)
        rows = {line.split()[1]: line.split() for line in out.splitlines()[2:]}
        self.assertEqual(rows["m1"][4], "role=scheduler,zone=a", out)
        self.assertEqual(rows["m3"][4], "-", out)
        code, out, err = rosterctl("members", "--endpoint", v1.listen, "--json")
        self.assertEqual({m["name"]: m["tags"] for m in json.loads(out)["members"]}["m1"],
                         {"role": "scheduler", "zone": "a"})
        wait_for("roster_members_tagged{key=role,value=scheduler} = 2 on v1",
                 lambda: values(v1.metrics, "roster_members_tagged", key="role", value="scheduler") == [2.0],
                 timeout=10)
        self.assertEqual(values(v1.metrics, "roster_members_tagged", key="zone"), [],
                         "only the keys of --metrics-tag-keys")

        # One leader_election instance next to each tagged member (and one next to m3, which has no
        # tag and must never lead).
        resource = os.path.join(c.dir, "job.log")
        inst = {}
        for name in ("m1", "m2", "m3"):
            inst[name] = Proc([binary("leader_election"), "--endpoint", self.m[name].listen, "--tag",
                               "role=scheduler", "--instance", name, "--resource", resource, "--every-ms", "20"],
                              log_path=os.path.join(c.dir, f"le-{name}.log"))
            self.addCleanup(inst[name].kill)

        def actions():
            try:
                with open(resource) as f:
                    return [(int(t), who) for t, who, _ in (line.split() for line in f if line.strip())]
            except FileNotFoundError:
                return []
        # The lowest id among the tagged members leads (m1 and m2 joined in either order).
        tagged = sorted((m["id"], m["name"].decode()) for m in view["members"].values()
                        if ("role", "scheduler") in m["tags"])
        first, second = tagged[0][1], tagged[1][1]
        wait_for(f"{first}'s instance (lowest tagged id) to act", lambda: actions(), timeout=15)
        self.assertEqual({who for _, who in actions()}, {first}, "only the tagged leader acts")
        first_token = actions()[-1][0]

        # Remove it by name through a voter that is not the consensus leader: it forwards.
        leader = c.leader_voter()
        follower = next(v for v in c.voter_nodes if v is not leader)
        r = remove(c, follower, name=first)
        self.assertEqual(r["status"], "ok", r)
        removed_in = r["view_id"]
        self.assertGreater(removed_in, 0)
        wait_for(f"{first} out of v1's view", lambda: first not in names(full_view(c, v1)), timeout=10)

        # The next tagged member's instance takes over with a larger token; m3's never acts.
        wait_for(f"{second}'s instance to act with a larger token",
                 lambda: any(t > first_token and who == second for t, who in actions()), timeout=15)
        self.assertNotIn("m3", {who for _, who in actions()})
        tokens = [t for t, _ in actions()]
        self.assertEqual(tokens, sorted(tokens), "accepted tokens never go down")

        # The removed rosterd says why, stays out (no rejoin), and its endpoints say so.
        gone = self.m[first]
        wait_for(f"{first}'s log line", lambda: re.search(
            rf"removed by an operator in view {removed_in}; not rejoining until restarted", gone.log_text()),
            timeout=10)
        holds_for(f"{first} to stay out of the views", lambda: first not in names(full_view(c, v1)), 1.5)
        self.assertTrue(gone.alive())
        code, body = http(gone.metrics, "/ready")
        self.assertEqual(code, 503)
        self.assertIn("removed by an operator", body["reason"])
        code, body = http(gone.metrics, "/health")
        self.assertEqual((code, body["health"]), (503, "false"))
        s = status(c, gone)
        self.assertFalse(s["ready"])
        self.assertIn("removed by an operator", s["ready_reason"])

        # The view says why, exactly (an older reader would read "left": tests/wire).
        with Link(v1.listen) as link:
            rid = request_id()
            reply = link.request(wire.sync_request(c.cluster, rid, after=removed_in - 1, full=False),
                                 "SyncReply", rid)
        change = next(ch for ch in reply["changes"] if ch["view_id"] == removed_in)
        self.assertEqual([why for _, why in change["removed"]], ["removed_by_operator"])

        # Unknown members are not found; a restart of m1 joins again under a newer incarnation.
        r = remove(c, leader, name="nobody")
        self.assertEqual(r["status"], "notfound", r)
        self.assertIn("no member named 'nobody'", r["error"])
        r = remove(c, leader, member_id=999999)
        self.assertEqual(r["status"], "notfound", r)
        gone.stop()
        gone.start()
        wait_for(f"{first} back in the view", lambda: first in names(full_view(c, v1)), timeout=15)
        wait_for(f"{first} ready again", lambda: http(gone.metrics, "/ready")[0] == 200, timeout=10)

    def test_a_removal_names_one_member_one_way_and_a_member_refers_it_to_a_voter(self):
        c, v1 = self.c, self.c.voter_nodes[0]
        r = remove(c, v1)
        self.assertEqual(r["status"], "rejected")
        self.assertIn("needs a member id or a name", r["error"])
        r = remove(c, v1, member_id=3, name="m3")
        self.assertEqual(r["status"], "rejected")
        r = remove(c, self.m["m2"], name="m3")
        self.assertEqual(r["status"], "notleader")
        self.assertIn("ask a voter", r["error"])
        m3 = next(m for m in full_view(c, v1)["members"].values() if m["name"] == b"m3")
        r = remove(c, v1, member_id=m3["id"])
        self.assertEqual((r["status"], r["member_id"]), ("ok", m3["id"]))

    def test_the_client_library_removes_through_whichever_endpoint_decides(self):
        c = self.c
        # A member first: it refers the request on; then the voters (a follower forwards).
        endpoints = [self.m["m1"].listen] + [v.listen for v in c.voter_nodes]
        code, out, err = rosterctl("remove", "m2", "--endpoint", ",".join(endpoints))
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"^removed m2 in view \d+ \(reason removed_by_operator\)$")
        wait_for("m2 out", lambda: "m2" not in names(full_view(c, c.voter_nodes[0])), timeout=10)
        code, out, err = rosterctl("remove", "m2", "--endpoint", ",".join(endpoints))
        self.assertEqual(code, 1)
        self.assertTrue(err.startswith("rosterctl: no member named 'm2'"), err)
        code, out, err = rosterctl("remove", "m3", "--endpoint", "127.0.0.1:1", "--timeout", "300")
        self.assertEqual(code, 1)
        # Nothing listens there: named at once, as rosterctl's other commands do.
        self.assertIn("127.0.0.1:1: connection refused", err)
        code, out, err = rosterctl("remove", "--endpoint", "127.0.0.1:1")
        self.assertEqual(code, 2, "a usage error: no member named")


class RemovalPermissions(unittest.TestCase):
    """On a secured cluster only an admin key may remove: a reader's or a member's request is
    answered `rejected` with the reason, and counted."""

    def test_only_an_admin_key_removes(self):
        c = cluster_for(self, voters=1, secure=True)
        admin = c.key_maker(c.keys_dir, "operator")
        c.authorized["operator"] = (admin, authorized_line(admin, "admin"))
        c.start_voters()
        c.add_member("m1")
        c.wait_formed(["v1", "m1"])
        v1 = c.voter_nodes[0]
        for who in (c.client_key, c.member_key("m1")):
            r = remove(c, v1, who, v1.key.public, name="m1")
            self.assertEqual(r["status"], "rejected", r)
            self.assertIn("may not remove members", r["error"])
            self.assertIn("admin key", r["error"])
        wait_for("the refusals counted",
                 lambda: values(v1.metrics, "roster_requests_rejected_total", reason="not_permitted") == [2.0],
                 timeout=5)
        # The client library says so too (a reader's key).
        code, out, err = rosterctl("remove", "m1", "--endpoint", f"1@{v1.listen}", "--key-file",
                                   c.client_key.path, "--voter-keys", c.voter_keys())
        self.assertEqual(code, 1)
        self.assertIn("it is a reader key", err)
        r = remove(c, v1, admin, v1.key.public, name="m1")
        self.assertEqual(r["status"], "ok", r)
        wait_for("m1 out", lambda: "m1" not in names(full_view(c, v1, c.client_key, v1.key.public)), timeout=10)


class Health(unittest.TestCase):
    """/health and /ready through a cluster's life: one voter (no leader), three, a voter cut off
    (the two others stopped), a member before and after its join."""

    def test_health_follows_the_cluster(self):
        c = cluster_for(self, voters=3)
        v1, v2, v3 = c.voter_nodes
        c.start_voters([0])
        # "starting" until the first verdict, a tenth of a second in; then why not.
        wait_for("v1's first verdict", lambda: http(v1.metrics, "/health")[1]["reason"] != "starting", timeout=5)
        code, body = http(v1.metrics, "/health")
        self.assertEqual(code, 503)
        self.assertEqual(body["reason"], "no committed view yet")
        self.assertEqual(http(v1.metrics, "/ready")[0], 503)
        self.assertFalse(status(c, v1)["healthy"])

        c.start_voters([1, 2])
        c.wait_formed(["v1", "v2", "v3"])
        for v in c.voter_nodes:
            wait_for(f"{v.name} healthy", lambda v=v: http(v.metrics, "/health") == (200, {"health": "true"}),
                     timeout=10)
            wait_for(f"{v.name} ready", lambda v=v: http(v.metrics, "/ready")[0] == 200, timeout=10)
            s = status(c, v)
            self.assertTrue(s["healthy"] and s["ready"], s)
        code, out, err = rosterctl("health", "--endpoint", ",".join(v.listen for v in c.voter_nodes))
        self.assertEqual(code, 0, err)
        self.assertEqual([line.split(" ", 1)[1] for line in out.splitlines()], ["healthy, ready"] * 3, out)

        # A member started while the voters are stopped is not ready (it cannot join), then is.
        for v in (v1, v2, v3):
            v.kill(signal.SIGSTOP)
        self.addCleanup(lambda: [v.kill(signal.SIGCONT) for v in (v1, v2, v3) if v.alive()])
        m1 = c.add_member("m1")
        wait_for("m1's first verdict", lambda: http(m1.metrics, "/ready")[1]["reason"] != "starting", timeout=5)
        code, body = http(m1.metrics, "/ready")
        self.assertEqual((code, body["ready"]), (503, "false"))
        self.assertIn("joining", body["reason"])
        self.assertEqual(http(m1.metrics, "/health")[0], 503)
        for v in (v1, v2, v3):
            v.kill(signal.SIGCONT)
        wait_for("m1 ready", lambda: http(m1.metrics, "/ready")[0] == 200, timeout=15)
        wait_for("m1 healthy", lambda: http(m1.metrics, "/health")[0] == 200, timeout=10)

        # Cut v1 off: stop the two others. Within a bound (an election timeout, a few hundred ms,
        # and the 100 ms between verdicts), v1 has no consensus leader and says so.
        v2.kill(signal.SIGSTOP)
        v3.kill(signal.SIGSTOP)
        wait_for("v1 unhealthy", lambda: http(v1.metrics, "/health")[0] == 503, timeout=3)
        code, body = http(v1.metrics, "/health")
        self.assertRegex(body["reason"], r"^no consensus leader for \d+\.\d s$")
        self.assertEqual(http(v1.metrics, "/ready")[0], 200, "still in its view: ready, not healthy")
        code, out, err = rosterctl("health", "--endpoint", f"{v1.listen},{v2.listen}", "--timeout", "300")
        self.assertEqual(code, 1, "not every endpoint is healthy")
        lines = out.splitlines()
        self.assertTrue(lines[0].startswith(f"{v1.listen}: unhealthy (no consensus leader for"), out)
        self.assertTrue(lines[1].startswith(f"{v2.listen}: unreachable"), out)
        v2.kill(signal.SIGCONT)
        v3.kill(signal.SIGCONT)
        wait_for("v1 healthy again", lambda: http(v1.metrics, "/health")[0] == 200, timeout=10)


if __name__ == "__main__":
    unittest.main()

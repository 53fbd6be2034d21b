"""The HTTP API of rosterd (issue 16, docs/http.md) with real processes and real HTTP: every
endpoint of /v1, its errors and bounds, Server-Sent Events resumed from Last-Event-ID, and basic
auth with --metrics-auth-file.

Cluster (one per class): 3 voters and members on loopback, started once for the class (the tests
of a class run one after another and each makes its own views). The voters run with
--metrics-threads 6, so that the watch stream cap (max(1, min(32, threads / 2)) = 3) is cheap to
reach, and with --removal-settle-ms 1500, so that a stopped member is suspected for a while before
its removal commits (the detector test sees both).

Every request goes out from its own loopback source address (127.0.0.N, one per test), because
rosterd limits /v1 requests per client address (10/s, burst 20): one test's polls never spend
another test's tokens, and the rate-limit test has a bucket of its own.

Run by ctest (label `integration`); alone:
    ROSTER_BIN=build/bin /usr/bin/python3 -m unittest -v tests/integration/test_http_api.py
"""

import base64
import http.client
import itertools
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rosterkit import ports  # noqa: E402
from rosterkit.cluster import Cluster, test_failed  # noqa: E402
from rosterkit.metrics import samples  # noqa: E402
from rosterkit.waiting import holds_for, wait_for  # noqa: E402

METRICS_THREADS = 6
STREAM_CAP = max(1, min(32, METRICS_THREADS // 2))
REMOVAL_SETTLE_MS = 1500
PHI_THRESHOLD = 8.0
HEARTBEAT_MS = 100
ROLES = {"leader", "follower", "pre_candidate", "candidate", "unknown"}

_sources = itertools.count(10)


def new_source():
    """A loopback address of its own (127.0.0.10, .11, ...): a rate-limit bucket of its own."""
    n = next(_sources)
    return f"127.0.{n // 250}.{n % 250 + 2}"


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> value
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"HTTP {self.status} {self.headers} {self.body[:300]!r}"


def request(endpoint, path, method="GET", headers=None, source="127.0.0.1", timeout=5.0):
    """One HTTP request on a connection of its own, from `source`; the Answer."""
    host, port = endpoint.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=timeout, source_address=(source, 0))
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        body = r.read()
        return Answer(r.status, {k.lower(): v for k, v in r.getheaders()}, body)
    finally:
        c.close()


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class EventStream:
    """A GET of an SSE endpoint on a raw socket: the status and headers, then one block (an event
    as a dict of its fields, or a comment as {"comment": text}) at a time. Chunked transfer
    encoding is undone if the server uses it."""

    def __init__(self, endpoint, path="/v1/watch", headers=None, source="127.0.0.1", timeout=5.0):
        host, port = endpoint.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout, source_address=(source, 0))
        lines = [f"GET {path} HTTP/1.1", f"Host: {endpoint}", "Accept: text/event-stream"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self._raw = b""       # bytes read, not yet de-chunked
        self._text = b""      # the body so far, not yet split into blocks
        self._closed = False
        head = self._read_until(b"\r\n\r\n", time.monotonic() + timeout)
        if head is None:
            raise AssertionError(f"GET {path}: no complete header within {timeout} s: {self._raw!r}")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split()[1])
        self.headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _fill(self, deadline):
        """Reads more bytes into _raw; False at end of stream or deadline."""
        left = deadline - time.monotonic()
        if left <= 0 or self._closed:
            return False
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, TimeoutError):
            return False
        except OSError:
            data = b""
        if not data:
            self._closed = True
            return False
        self._raw += data
        return True

    def _read_until(self, marker, deadline):
        while marker not in self._raw:
            if not self._fill(deadline):
                return None
        head, self._raw = self._raw.split(marker, 1)
        return head

    def _body(self, deadline):
        """Moves what _raw holds of the body into _text; False when nothing more came."""
        if not self.chunked:
            if not self._raw and not self._fill(deadline):
                return False
            self._text += self._raw
            self._raw = b""
            return True
        size_line = self._read_until(b"\r\n", deadline)
        if size_line is None:
            return False
        size = int(size_line.split(b";")[0], 16)
        while len(self._raw) < size + 2:
            if not self._fill(deadline):
                return False
        self._text += self._raw[:size]
        self._raw = self._raw[size + 2:]
        if size == 0:
            self._closed = True
        return True

    def body_rest(self, timeout=5.0):
        """Everything of the body until the server closes (for an error answer)."""
        deadline = time.monotonic() + timeout
        if "content-length" in self.headers:
            want = int(self.headers["content-length"])
            while len(self._raw) < want and self._fill(deadline):
                pass
            return self._raw[:want]
        while self._body(deadline):
            pass
        return self._text

    def next(self, timeout=5.0):
        """The next block (event or comment), or None if none came within timeout (or the stream
        ended: see .ended)."""
        deadline = time.monotonic() + timeout
        while b"\n\n" not in self._text:
            if not self._body(deadline):
                return None
        block, self._text = self._text.split(b"\n\n", 1)
        fields, comments = {}, []
        for line in block.decode().split("\n"):
            if line.startswith(":"):
                comments.append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            fields[name] = fields[name] + "\n" + value if name in fields else value
        return fields if fields else {"comment": "\n".join(comments)}

    @property
    def ended(self):
        return self._closed

    def next_event(self, timeout=5.0):
        """The next event (comments skipped), its data parsed; None if none came within timeout."""
        deadline = time.monotonic() + timeout
        while True:
            block = self.next(max(0.0, deadline - time.monotonic()))
            if block is None:
                return None
            if "comment" not in block:
                block["data"] = json.loads(block["data"])
                return block


class ClusterCase(unittest.TestCase):
    """A cluster for the class; each test gets a source address of its own (self.src)."""

    VOTER_ARGS = ["--metrics-threads", str(METRICS_THREADS), "--removal-settle-ms", str(REMOVAL_SETTLE_MS),
                  "--phi-threshold", str(PHI_THRESHOLD)]
    MEMBERS = ("m1", "m2")

    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(voters=3, heartbeat_ms=HEARTBEAT_MS, cluster="http-api", voter_args=cls.VOTER_ARGS)
        cls.addClassCleanup(lambda: cls.c.cleanup())
        cls.c.start_voters()
        cls.c.wait_formed(["v1", "v2", "v3"])
        for name in cls.MEMBERS:
            cls.c.add_member(name)
        cls.c.wait_formed(["v1", "v2", "v3"] + list(cls.MEMBERS))

    def setUp(self):
        self.src = new_source()
        self.addCleanup(self._logs_on_failure)

    def _logs_on_failure(self):
        if test_failed(self):
            self.c.print_logs()
            self.c.keep_logs = True

    def get(self, node, path, **kwargs):
        kwargs.setdefault("source", self.src)
        return request(node.metrics, path, **kwargs)

    def ok_json(self, node, path, **kwargs):
        a = self.get(node, path, **kwargs)
        self.assertEqual(a.status, 200, f"GET {path} on {node.name}: {a}")
        self.assertTrue(a.headers.get("content-type", "").startswith("application/json"), a)
        return a.json()

    def assert_error(self, a, status, what):
        """An error answer: the status, a JSON {"error": sentence}, and the headers of every answer."""
        self.assertEqual(a.status, status, f"{what}: {a}")
        self.assertTrue(a.headers.get("content-type", "").startswith("application/json"), f"{what}: {a}")
        body = a.json()
        self.assertIsInstance(body.get("error"), str, f"{what}: {a}")
        self.assertTrue(body["error"], f"{what}: an empty error")
        self.assert_common_headers(a, what)
        return body["error"]

    def assert_common_headers(self, a, what):
        self.assertEqual(a.headers.get("cache-control"), "no-store", f"{what}: {a}")
        self.assertEqual(a.headers.get("x-content-type-options"), "nosniff", f"{what}: {a}")

    def current_view_id(self, node):
        return self.ok_json(node, "/v1/members")["view_id"]

    def add_member_view(self, name, node):
        """Starts member `name` and waits until `node` has committed the view with it; that view's id."""
        self.c.add_member(name)

        def joined():
            view = self.ok_json(node, "/v1/members")
            return view["view_id"] if name in [m["name"] for m in view["members"]] else None
        return wait_for(f"{name} in {node.name}'s /v1/members", joined, timeout=15, interval=0.15)


class HttpEndpoints(ClusterCase):
    """/v1/members, /v1/status, /v1/views, /v1/detector and the errors, on a 3-voter cluster."""

    def test_members_is_rosterctl_members_json_with_an_etag(self):
        for node in self.c.voter_nodes + [self.c.members["m1"]]:
            self.src = new_source()
            ctl = self.c.members_of(node)
            a = self.get(node, "/v1/members")
            self.assertEqual(a.status, 200, a)
            self.assert_common_headers(a, "/v1/members")
            self.assertEqual(a.json(), ctl, f"{node.name}: /v1/members differs from rosterctl members --json")
            self.assertEqual(a.headers.get("etag"), f'"{ctl["view_id"]}"', a)
            # The same tag: 304 without a body; another: the whole view.
            b = self.get(node, "/v1/members", headers={"If-None-Match": a.headers["etag"]})
            self.assertEqual((b.status, b.body), (304, b""), b)
            b = self.get(node, "/v1/members", headers={"If-None-Match": f'"{ctl["view_id"] - 1}"'})
            self.assertEqual(b.status, 200, b)
            self.assertEqual(b.json(), ctl)
            # HEAD: the headers of GET, no body.
            b = self.get(node, "/v1/members", method="HEAD")
            self.assertEqual((b.status, b.body), (200, b""), b)
            self.assertEqual(b.headers.get("etag"), a.headers["etag"])

    def test_status_has_rosterctls_fields_and_every_voter_knows_the_leader(self):
        leaders = set()
        for node in self.c.voter_nodes:
            ctl = self.c.ctl(node, "status")
            s = self.ok_json(node, "/v1/status")
            for field in ("name", "role", "term", "view_id", "voter_id", "member_id", "leader_voter_id"):
                self.assertEqual(s[field], ctl[field], f"{node.name}: {field} of /v1/status vs rosterctl: {s}")
            self.assertGreaterEqual(s["commit_index"], ctl["commit_index"])
            self.assertIs(s["healthy"], True, s)
            self.assertIs(s["ready"], True, s)
            self.assertIsInstance(s["health_reason"], str)
            self.assertIsInstance(s["ready_reason"], str)
            self.assertEqual(s["phi_threshold"], PHI_THRESHOLD)
            self.assertEqual(s["heartbeat_interval_ms"], HEARTBEAT_MS)
            voters = s["voters"]
            self.assertEqual([v["voter_id"] for v in voters], [1, 2, 3], s)
            for v in voters:
                self.assertEqual(set(v), {"voter_id", "name", "role", "term", "commit_index", "match_index",
                                          "heard_ms_ago", "self"}, v)
                self.assertIn(v["role"], ROLES, v)
            me = [v for v in voters if v["self"]]
            self.assertEqual(len(me), 1, voters)
            self.assertEqual((me[0]["voter_id"], me[0]["name"], me[0]["role"], me[0]["term"]),
                             (node.voter_id, node.name, s["role"], s["term"]), me[0])
            self.assertNotEqual(s["leader_voter_id"], 0, f"{node.name} knows no leader: {s}")
            leader = next(v for v in voters if v["voter_id"] == s["leader_voter_id"])
            self.assertEqual(leader["role"], "leader", f"{node.name}: {voters}")
            leaders.add(s["leader_voter_id"])
            if s["role"] == "leader":
                # The leader knows its followers' progress and when it heard from them.
                for v in voters:
                    if not v["self"]:
                        self.assertEqual(v["role"], "follower", v)
                        self.assertIsInstance(v["match_index"], int, v)
                        self.assertIsInstance(v["heard_ms_ago"], int, v)
                        self.assertLess(v["heard_ms_ago"], 5000, v)
        self.assertEqual(len(leaders), 1, f"the voters name different leaders: {leaders}")
        # A member: role member, the voters it joins through, at most the leader's role known.
        m1 = self.c.members["m1"]
        s = self.ok_json(m1, "/v1/status")
        self.assertEqual((s["name"], s["role"]), ("m1", "member"), s)
        self.assertEqual([v["voter_id"] for v in s["voters"]], [1, 2, 3], s)
        for v in s["voters"]:
            self.assertFalse(v["self"], v)
            if v["voter_id"] != s["leader_voter_id"]:
                self.assertEqual(v["role"], "unknown", v)

    def test_views_after_n_dense_resync_empty_and_bad(self):
        v1 = self.c.voter_nodes[0]
        before = self.current_view_id(v1)
        first = self.add_member_view("views-a", v1)
        last = self.add_member_view("views-b", v1)
        self.assertGreater(last, first)
        self.assertGreater(first, before)

        # In range: before+1 .. last, in order, each the whole view, resync false.
        page = self.ok_json(v1, f"/v1/views?after={before}")
        self.assertEqual(page["view_id"], last, page)
        self.assertIs(page["more"], False)
        ids = [v["view_id"] for v in page["views"]]
        self.assertEqual(ids, list(range(before + 1, last + 1)), page)
        for v in page["views"]:
            self.assertIs(v["resync"], False, v)
            for field in ("leader", "members", "joined", "removed"):
                self.assertIn(field, v)
        joined_names = {m["name"]: m["id"] for m in page["views"][-1]["members"]}
        self.assertIn(joined_names["views-b"], page["views"][-1]["joined"])
        current = self.ok_json(v1, "/v1/members")
        newest = dict(page["views"][-1])
        del newest["resync"]
        self.assertEqual(newest, current, "the newest element is the view of /v1/members")

        # N >= current: nothing; the current id all the same.
        for after in (last, last + 1000):
            page = self.ok_json(v1, f"/v1/views?after={after}")
            self.assertEqual((page["view_id"], page["views"], page["more"]), (last, [], False), page)

        # Not a non-negative integer, or missing: 400.
        for query in ("", "?after=", "?after=-1", "?after=abc", "?after=1.5", "?after=0x10", "?after=1e3",
                      "?after=99999999999999999999999999", "?before=3"):
            self.assert_error(self.get(v1, f"/v1/views{query}"), 400, f"/v1/views{query}")

    def test_views_after_older_than_the_ring_answers_the_full_view(self):
        # A member's ring starts at the full view it received when it joined: every view before
        # it is older than what it retains, whatever the cluster's history.
        late = self.c.add_member("late")
        v1 = self.c.voter_nodes[0]

        def has_view():
            a = self.get(late, "/v1/members")
            return a.status == 200 and "late" in [m["name"] for m in a.json()["members"]] and a.json()
        view = wait_for("late's own view", has_view, timeout=15, interval=0.15)
        self.assertGreater(view["view_id"], 2)
        page = self.ok_json(late, "/v1/views?after=1")
        self.assertEqual(len(page["views"]), 1, page)
        self.assertIs(page["more"], False)
        only = page["views"][0]
        self.assertIs(only["resync"], True, only)
        self.assertEqual(only["view_id"], page["view_id"])
        self.assertEqual(only["members"], self.ok_json(late, "/v1/members")["members"])
        # The same on the watch stream: a Last-Event-ID it cannot reach back to starts with a resync.
        with EventStream(late.metrics, headers={"Last-Event-ID": "1"}, source=self.src) as s:
            self.assertEqual(s.status, 200)
            e = s.next_event()
            self.assertIsNotNone(e, "no first event")
            self.assertIs(e["data"]["resync"], True, e)
            self.assertEqual(int(e["id"]), page["view_id"])
        # A voter still retains view 2 (its ring holds the last 1024 changes): no resync there.
        page = self.ok_json(v1, "/v1/views?after=1")
        self.assertEqual(page["views"][0]["view_id"], 2, page)
        self.assertIs(page["views"][0]["resync"], False)

    def test_detector_on_voters_suspects_a_stopped_member_and_404_on_a_member(self):
        v2 = self.c.voter_nodes[1]
        victim = self.c.add_member("stopped")
        view = wait_for("'stopped' in v2's view", lambda: (lambda v: "stopped" in [m["name"] for m in v["members"]]
                                                            and v)(self.ok_json(v2, "/v1/members")),
                        timeout=15, interval=0.15)
        ids = {m["name"]: m["id"] for m in view["members"]}

        def settled():
            d = self.ok_json(v2, "/v1/detector")
            entry = {m["id"]: m for m in d["members"]}.get(ids["stopped"])
            return d if entry and entry["samples"] >= 5 else None
        d = wait_for("v2's detector with samples of 'stopped'", settled, timeout=10, interval=0.3)
        self.assertEqual(d["voter_id"], 2)
        self.assertEqual(d["phi_threshold"], PHI_THRESHOLD)
        self.assertEqual(d["heartbeat_interval_ms"], HEARTBEAT_MS)
        got = [m["id"] for m in d["members"]]
        self.assertEqual(got, sorted(got), "in member-id order")
        others = {i for name, i in ids.items() if name != "v2"}
        self.assertLessEqual(others, set(got), f"every member but v2 itself: {d}")
        for m in d["members"]:
            self.assertEqual(set(m), {"id", "name", "heartbeat_age_ms", "phi", "interval_ms", "interval_mean_ms",
                                      "interval_stddev_ms", "samples", "suspected"}, m)
            if m["id"] not in others:
                continue
            self.assertEqual(m["name"], next(n for n, i in ids.items() if i == m["id"]))
            self.assertIsInstance(m["heartbeat_age_ms"], (int, float), m)
            self.assertLess(m["heartbeat_age_ms"], 2000, m)
            self.assertGreaterEqual(m["phi"], 0.0, m)
            self.assertLess(m["phi"], PHI_THRESHOLD, m)
            self.assertEqual(m["interval_ms"], HEARTBEAT_MS, f"the interval the member announced: {m}")
            self.assertGreater(m["interval_mean_ms"], HEARTBEAT_MS / 3, m)
            self.assertLess(m["interval_mean_ms"], HEARTBEAT_MS * 3, m)
            self.assertGreaterEqual(m["interval_stddev_ms"], 0.0, m)
            self.assertGreaterEqual(m["samples"], 1, m)
            self.assertIs(m["suspected"], False, m)

        # SIGSTOP: its phi climbs past the threshold and v2 suspects it, before the removal
        # (held back REMOVAL_SETTLE_MS) takes it out of the view and out of the detector.
        victim.kill(signal.SIGSTOP)
        self.addCleanup(victim.stop)
        stopped_at = time.monotonic()

        def suspected():
            entry = {m["id"]: m for m in self.ok_json(v2, "/v1/detector")["members"]}.get(ids["stopped"])
            return entry if entry and entry["suspected"] else None
        entry = wait_for("v2 to suspect the stopped member", suspected, timeout=REMOVAL_SETTLE_MS / 1000 + 5,
                         interval=0.15)
        self.assertGreaterEqual(entry["phi"], PHI_THRESHOLD, entry)
        self.assertGreater(entry["heartbeat_age_ms"], HEARTBEAT_MS, entry)
        wait_for("the stopped member out of v2's view", lambda: "stopped" not in
                 [m["name"] for m in self.ok_json(v2, "/v1/members")["members"]], timeout=15, interval=0.15)
        wait_for("the stopped member out of v2's detector", lambda: ids["stopped"] not in
                 [m["id"] for m in self.ok_json(v2, "/v1/detector")["members"]], timeout=5, interval=0.3)
        print(f"\nsuspected and removed {time.monotonic() - stopped_at:.2f} s after SIGSTOP "
              f"(removal settle {REMOVAL_SETTLE_MS} ms)")
        victim.stop()

        # A member runs no detector.
        error = self.assert_error(self.get(self.c.members["m1"], "/v1/detector"), 404, "/v1/detector on a member")
        self.assertIn("member", error)

    def test_errors_unknown_paths_methods_and_headers(self):
        v1, m1 = self.c.voter_nodes[0], self.c.members["m1"]
        # More requests than one address's burst: each from an address of its own.
        self.get = lambda node, path, **kw: request(node.metrics, path, source=new_source(), **kw)
        for path in ("/v1/nothing", "/v1", "/v1/members/4", "/nothing", "/index.php", "/v2/members"):
            self.assert_error(self.get(v1, path), 404, f"GET {path}")
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            for path in ("/v1/members", "/v1/views?after=1", "/v1/watch", "/"):
                a = self.get(v1, path, method=method)
                self.assert_error(a, 405, f"{method} {path}")
                self.assertEqual(a.headers.get("allow"), "GET, HEAD", a)
        for node in (v1, m1):
            for path in ("/v1/members", "/v1/status", "/v1/views?after=0"):
                self.assert_common_headers(self.get(node, path), path)
        # The page and its assets are served from the binary, the page with its CSP.
        a = self.get(v1, "/")
        self.assertEqual(a.status, 200, a)
        self.assertTrue(a.headers.get("content-type", "").startswith("text/html"), a)
        self.assertIn("default-src 'self'", a.headers.get("content-security-policy", ""), a)
        self.assert_common_headers(a, "/")
        for path in ("/app.js", "/style.css"):
            self.assertEqual(self.get(v1, path).status, 200, path)
        # /health and /ready as before.
        self.assertEqual(self.get(v1, "/health").status, 200)
        self.assertEqual(self.get(v1, "/ready").status, 200)

    def test_rate_limit_per_client_address(self):
        v1 = self.c.voter_nodes[0]
        # As fast as one connection after another goes (faster than 10 a second even on a loaded
        # machine), until the first refusal.
        answers = []
        while len(answers) < 300 and (not answers or answers[-1].status == 200):
            answers.append(self.get(v1, "/v1/members"))
        statuses = [a.status for a in answers]
        self.assertEqual(statuses[-1], 429, f"{len(answers)} requests from one address, none refused")
        self.assertEqual(set(statuses[:-1]), {200}, statuses)
        self.assertGreaterEqual(len(answers) - 1, 20, "the burst of 20 passes")
        self.assert_error(answers[-1], 429, "rate limit")
        self.assertEqual(answers[-1].headers.get("retry-after"), "1")
        # Another address has a bucket of its own; this one's refills.
        self.assertEqual(request(v1.metrics, "/v1/members", source=new_source()).status, 200)
        wait_for("the bucket to refill", lambda: self.get(v1, "/v1/members").status == 200, timeout=3, interval=0.3)
        # /health is not limited.
        self.assertEqual([self.get(v1, "/health").status for _ in range(30)], [200] * 30)


class HttpWatch(ClusterCase):
    """GET /v1/watch: Server-Sent Events resumed from Last-Event-ID, keep-alives, the stream cap."""

    def watch(self, node, **kwargs):
        kwargs.setdefault("source", self.src)
        s = EventStream(node.metrics, **kwargs)
        self.addCleanup(s.close)
        return s

    def test_resume_from_last_event_id_gets_exactly_the_missing_views(self):
        v1 = self.c.voter_nodes[0]
        s = self.watch(v1)
        self.assertEqual(s.status, 200)
        self.assertTrue(s.headers.get("content-type", "").startswith("text/event-stream"), s.headers)
        self.assertEqual(s.headers.get("cache-control"), "no-store")
        # No Last-Event-ID: the current view first, as a resync.
        e = s.next_event()
        self.assertIsNotNone(e, "no first event")
        self.assertEqual(e["event"], "view", e)
        self.assertIs(e["data"]["resync"], True, e)
        self.assertEqual(int(e["id"]), e["data"]["view_id"])
        start = int(e["id"])
        # A view committed while connected is the next event, not a resync.
        joined_in = self.add_member_view("w1", v1)
        e = s.next_event(timeout=5)
        self.assertIsNotNone(e, "no event for w1's join")
        self.assertEqual(int(e["id"]), start + 1, e)
        self.assertIs(e["data"]["resync"], False, e)
        self.assertEqual(joined_in, start + 1)
        seen = int(e["id"])
        s.close()

        # Disconnected: more views commit (two joins and a graceful leave).
        self.add_member_view("w2", v1)
        self.add_member_view("w3", v1)
        self.c.members["w1"].proc.terminate()
        last = wait_for("w1's leave", lambda: (lambda v: "w1" not in [m["name"] for m in v["members"]]
                                               and v["view_id"])(self.ok_json(v1, "/v1/members")),
                        timeout=10, interval=0.15)
        missed = self.ok_json(v1, f"/v1/views?after={seen}")["views"]
        self.assertEqual([v["view_id"] for v in missed], list(range(seen + 1, last + 1)))
        left = missed[-1]["removed"]
        self.assertEqual(len(left), 1, missed[-1])

        for how in ({"headers": {"Last-Event-ID": str(seen)}}, {"path": f"/v1/watch?after={seen}"}):
            s = self.watch(v1, **how)
            self.assertEqual(s.status, 200, how)
            got = []
            while len(got) < len(missed):
                e = s.next_event(timeout=5)
                self.assertIsNotNone(e, f"{how}: only {[g['id'] for g in got]} of {seen + 1}..{last}")
                got.append(e)
            self.assertEqual([int(g["id"]) for g in got], list(range(seen + 1, last + 1)), how)
            self.assertEqual([g["data"] for g in got], missed, f"{how}: the events are the views of /v1/views")
            # Nothing more: the next block (if any within a second) is a comment, not an event.
            block = s.next(timeout=1.0)
            self.assertTrue(block is None or "comment" in block, f"{how}: an extra block {block}")
            s.close()

    def test_where_a_stream_starts_for_odd_resume_points(self):
        v2 = self.c.voter_nodes[1]  # streams of their own: v1 and v3 serve the other tests' streams
        current = self.current_view_id(v2)
        # A Last-Event-ID that is not a view id, or one beyond the current view (a node restarted
        # from older state, another cluster): the current view, as a resync.
        for last_event_id in ("garbage", str(current + 1000)):
            with self.watch(v2, headers={"Last-Event-ID": last_event_id}) as s:
                self.assertEqual(s.status, 200, last_event_id)
                e = s.next_event()
                self.assertIsNotNone(e, f"Last-Event-ID {last_event_id}: no first event")
                self.assertEqual((int(e["id"]), e["data"]["resync"]), (current, True), last_event_id)
        # At the current view: nothing until the next one.
        with self.watch(v2, path=f"/v1/watch?after={current}") as s:
            self.assertEqual(s.status, 200)
            block = s.next(timeout=0.5)
            self.assertTrue(block is None or "comment" in block, f"an event at the current view: {block}")
        # ?after= that is not a view id is a bad query (and takes no stream slot).
        a = request(v2.metrics, "/v1/watch?after=abc", source=self.src)
        self.assertEqual(a.status, 400, a)
        self.assertIn("error", a.json())

    def test_stream_cap_keepalive_and_a_freed_slot(self):
        v3 = self.c.voter_nodes[2]
        streams = []
        for i in range(STREAM_CAP):
            s = self.watch(v3)
            self.assertEqual(s.status, 200, f"stream {i + 1} of {STREAM_CAP}")
            self.assertIsNotNone(s.next_event(), f"stream {i + 1}: the first event")
            streams.append(s)
        one_more = self.watch(v3)
        self.assertEqual(one_more.status, 503, f"stream {STREAM_CAP + 1}: {one_more.headers}")
        self.assertEqual(one_more.headers.get("retry-after"), "5", one_more.headers)
        body = json.loads(one_more.body_rest())
        self.assertIn("error", body)
        one_more.close()
        # Other requests still go through while the streams are open; HEAD takes no slot.
        self.assertEqual(self.get(v3, "/v1/status").status, 200)
        a = self.get(v3, "/v1/watch", method="HEAD")
        self.assertEqual((a.status, a.body), (200, b""), a)
        self.assertTrue(a.headers.get("content-type", "").startswith("text/event-stream"), a)
        # Quiet: a keep-alive comment within about 5 s (events of views that commit meanwhile skipped).
        deadline = time.monotonic() + 8
        block = None
        while time.monotonic() < deadline and (block is None or "comment" not in block):
            block = streams[0].next(timeout=max(0.0, deadline - time.monotonic()))
        self.assertEqual(block, {"comment": "keep-alive"})
        # A closed stream frees its slot (rosterd notices at its next write, a keep-alive at the latest).
        streams[0].close()

        def fresh_stream():
            s = self.watch(v3)
            if s.status == 200:
                return s
            s.close()
            return None
        s = wait_for("a stream slot after one closed", fresh_stream, timeout=12, interval=0.5)
        self.assertIsNotNone(s.next_event())


class HttpNoViewYet(unittest.TestCase):
    """A member that cannot reach any voter has no committed view: 503 until it has one."""

    def test_members_503_before_the_first_view(self):
        c = Cluster(voters=1, cluster="http-api-noview")
        self.addCleanup(c.cleanup)
        dead = ports.allocate(1)[0]
        node = c.add_member_node("lonely")
        i = node.args.index("--join")
        node.args[i + 1] = f"127.0.0.1:{dead}"
        node.start()

        def first_answer():
            a = request(node.metrics, "/v1/members")
            return a if a.status != 404 else None
        a = wait_for("lonely to answer /v1/members", first_answer, timeout=5)
        self.assertEqual(a.status, 503, a)
        self.assertEqual(a.json(), {"error": "no committed view yet"})
        holds_for("503 while no voter answers", lambda: request(node.metrics, "/v1/members").status == 503, 0.5)
        self.assertEqual(request(node.metrics, "/v1/views?after=0").status, 503)
        self.assertEqual(request(node.metrics, "/v1/status").status, 200)


class HttpBasicAuth(unittest.TestCase):
    """With --metrics-auth-file every path but /health and /ready needs a user of the file."""

    USER, PASSWORD = "viewer", "open: sesame"

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="roster-http-auth-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        auth_file = os.path.join(self.dir, "metrics-auth")
        fd = os.open(auth_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"{self.USER}:{self.PASSWORD}\n")
        self.c = Cluster(voters=1, cluster="http-api-auth", voter_args=["--metrics-auth-file", auth_file])
        self.addCleanup(self.c.cleanup)
        self.c.start_voters()
        self.node = self.c.voter_nodes[0]
        self.c.wait_formed(["v1"])

    def test_every_path_but_health_and_ready_needs_a_user_of_the_file(self):
        good = {"Authorization": basic(self.USER, self.PASSWORD)}
        bad = {"Authorization": basic(self.USER, "open: sesam")}
        paths = ("/v1/members", "/v1/status", "/v1/views?after=0", "/v1/detector", "/v1/watch", "/", "/app.js",
                 "/metrics", "/v1/nothing")
        for path in paths:
            for what, headers in (("no credentials", {}), ("a wrong password", bad)):
                a = request(self.node.metrics, path, headers=headers)
                self.assertEqual(a.status, 401, f"{path} with {what}: {a}")
                self.assertEqual(a.headers.get("www-authenticate"), 'Basic realm="roster"', a)
                if path != "/metrics":
                    self.assertIn("error", a.json(), a)
                self.assertNotIn(b'"members"', a.body)
        for path in paths:
            if path == "/v1/watch":
                with EventStream(self.node.metrics, headers=good) as s:
                    self.assertEqual(s.status, 200)
                    self.assertIsNotNone(s.next_event())
                continue
            want = 404 if path == "/v1/nothing" else 200
            a = request(self.node.metrics, path, headers=good)
            self.assertEqual(a.status, want, f"{path} with the right password: {a}")
        for path in ("/health", "/ready"):
            # No password asked; the verdict itself is recomputed every 100 ms, so it may lag the
            # first view by that much.
            a = request(self.node.metrics, path)
            self.assertIn(a.status, (200, 503), f"{path} without credentials: {a}")
            self.assertIn(path[1:], a.json(), a)
            wait_for(f"{path} 200 without credentials", lambda: request(self.node.metrics, path).status == 200,
                     timeout=5)
        # The wrong passwords were counted, as /metrics counts them.
        text = request(self.node.metrics, "/metrics", headers=good).body.decode()
        self.assertGreaterEqual(sum(samples(text, "roster_metrics_auth_refused_total").values()), len(paths))


if __name__ == "__main__":
    unittest.main()

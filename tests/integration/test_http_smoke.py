"""A quick check of rosterd's HTTP API over real HTTP (issue 16): one voter answers /v1/members
as rosterctl members --json, a /v1/watch stream delivers the next view, and a node stopped with a
stream open still exits promptly (the stream ends, the metrics server does not wait for it).
The full API suite is tests/integration/test_http_api.py; this is the daemon side's smoke test.

Run by ctest (label `integration`); alone: /usr/bin/python3 -m unittest tests/integration/test_http_smoke.py
"""

import json
import os
import signal
import subprocess
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rosterkit.cluster import cluster_for  # noqa: E402
from rosterkit.paths import binary  # noqa: E402
from rosterkit.waiting import wait_for  # noqa: E402


def get(endpoint, path):
    with urllib.request.urlopen(f"http://{endpoint}{path}", timeout=5) as r:
        return r.status, dict(r.headers), r.read()


def read_event(stream):
    """One Server-Sent Event from `stream` as {field: value}, comments skipped."""
    fields = {}
    while True:
        line = stream.readline().decode()
        if line == "":
            return None
        line = line.rstrip("\n")
        if line == "":
            if fields:
                return fields
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(": ")
        fields[name] = value


class HttpSmoke(unittest.TestCase):
    def test_members_watch_and_a_prompt_stop_with_a_stream_open(self):
        c = cluster_for(self, voters=1)
        c.start_voters()
        c.wait_formed(["v1"])
        v1 = c.voter_nodes[0]

        wait_for("a committed view on HTTP", lambda: get(v1.metrics, "/v1/status")[0] == 200 and
                 json.loads(get(v1.metrics, "/v1/members")[2])["members"], timeout=5)
        status, headers, body = get(v1.metrics, "/v1/members")
        ctl = subprocess.run([binary("rosterctl"), "--endpoint", v1.listen, "members", "--json"],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(ctl.returncode, 0, ctl.stderr)
        self.assertEqual(body.decode(), ctl.stdout.rstrip("\n"), "the same document as rosterctl")
        self.assertEqual(headers["ETag"], f'"{json.loads(body)["view_id"]}"')
        self.assertEqual(headers["Cache-Control"], "no-store")

        # A stream resumed from the current view gets the next one: a member joins.
        current = json.loads(body)["view_id"]
        q = urllib.request.Request(f"http://{v1.metrics}/v1/watch", headers={"Last-Event-ID": str(current)})
        stream = urllib.request.urlopen(q, timeout=10)
        self.addCleanup(stream.close)
        self.assertEqual(stream.headers["Content-Type"], "text/event-stream")
        m1 = c.add_member("m1")
        event = read_event(stream)
        self.assertEqual((event["id"], event["event"]), (str(current + 1), "view"), event)
        data = json.loads(event["data"])
        self.assertEqual((data["view_id"], data["resync"]), (current + 1, False))
        self.assertIn("m1", [m["name"] for m in data["members"]])

        # Stopped with the stream open: the stream ends and the process exits within a few seconds
        # (its graceful leave, then the metrics server; no wait on the stream's 10 minutes).
        m1.stop()
        start = time.monotonic()
        v1.kill(signal.SIGTERM)
        self.assertEqual(v1.wait(timeout=15), 0, v1.log_text()[-2000:])
        self.assertLess(time.monotonic() - start, 10)
        rest = stream.read()  # the end of the stream, not a hang
        self.assertNotIn(b"id: ", rest.split(b"\n\n")[-1])


if __name__ == "__main__":
    unittest.main()

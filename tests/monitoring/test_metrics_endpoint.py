"""The /metrics endpoint against an attacker (issue 13): it keeps answering while 200 slow
connections are open, cuts off a header trickled in byte by byte, and with --metrics-auth-file
answers 401 to anyone without the right user and password. A bad auth file stops rosterd at start
with the file and line named.

Each test runs a real single-voter rosterd on ports of the kit and sends the bytes an attacker
would (the attacker is tests/monitoring/slowloris.py, which also measures the defaults).

Run by ctest (label `integration`); alone:
/usr/bin/python3 -m unittest tests/monitoring/test_metrics_endpoint.py
"""

import base64
import http.client
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "pylib"))
from rosterkit.cluster import cluster_for  # noqa: E402
from rosterkit.metrics import samples  # noqa: E402
from rosterkit.paths import binary  # noqa: E402
from rosterkit.ports import allocate  # noqa: E402
from slowloris import Slowloris, get_metrics  # noqa: E402

SLOW_CONNECTIONS = 200
# Every scrape must answer within this; below the default request timeout (5 s), so that a scrape
# queued behind a stalled connection (and answered only once that one times out) fails the test.
SCRAPE_DEADLINE = 3.0


def single_voter(testcase, *args):
    """A one-voter cluster with extra rosterd flags, started; its node."""
    c = cluster_for(testcase, voters=1, cluster="metrics-endpoint", voter_args=list(args))
    c.start_voters()
    return c, c.voter_nodes[0]


class SlowConnections(unittest.TestCase):
    def assert_scrape_answers(self, node, when):
        try:
            status, took, _, body = get_metrics(node.metrics, SCRAPE_DEADLINE)
        except OSError as e:
            self.fail(f"GET /metrics {when}: no answer within {SCRAPE_DEADLINE:g} s ({e!r})")
        self.assertEqual(status, 200, when)
        self.assertIn("roster_build_info", body, when)
        return took

    def test_metrics_answer_while_200_slow_connections_are_open(self):
        _, node = single_voter(self)
        self.assert_scrape_answers(node, "before the attack")
        with Slowloris(node.metrics, SLOW_CONNECTIONS) as attack:
            attack.wait_all_open()
            # Scrape for longer than two request timeouts (5 s), so that rosterd closes the stalled
            # connections and the attacker opens new ones at least once while scrapes go on.
            took = []
            end = time.monotonic() + 12
            while time.monotonic() < end:
                # Each scrape starts with all 200 open (the ones rosterd just timed out reopened).
                attack.wait_all_open(timeout=10)
                took.append(self.assert_scrape_answers(node, f"with {SLOW_CONNECTIONS} slow connections open"))
                time.sleep(0.1)
            self.assertGreaterEqual(attack.closed_by_server, SLOW_CONNECTIONS,
                                    "rosterd closes stalled connections at the request timeout")
        print(f"\n{len(took)} scrapes during the attack: median {sorted(took)[len(took) // 2] * 1000:.1f} ms, "
              f"max {max(took) * 1000:.1f} ms; stalled connections closed by rosterd: {attack.closed_by_server}")
        for _ in range(3):
            self.assert_scrape_answers(node, "after the attack")

    def test_a_header_trickled_byte_by_byte_is_cut_off_at_the_request_timeout(self):
        _, node = single_voter(self, "--metrics-request-timeout-ms", "1000")
        request = b"GET /metrics HTTP/1.1\r\nHost: x\r\nUser-Agent: trickle\r\n\r\n"
        host, port = node.metrics.rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=5)
        self.addCleanup(s.close)
        start = time.monotonic()
        sent = 0
        closed_at = None
        # One byte every 100 ms: the whole header would take 5.6 s.
        while sent < len(request) - 1 and time.monotonic() - start < 10:
            readable, _, _ = select.select([s], [], [], 0.1)
            if readable:
                try:
                    if not s.recv(4096):
                        closed_at = time.monotonic()
                        break
                except OSError:
                    closed_at = time.monotonic()
                    break
                continue  # an error answer (408) before the close: read on
            try:
                s.send(request[sent:sent + 1])
            except OSError:
                closed_at = time.monotonic()
                break
            sent += 1
        self.assertIsNotNone(closed_at, f"rosterd read {sent} bytes of a trickled header without closing")
        self.assertLess(sent, len(request) - 1, "closed before the header was complete")
        self.assertLess(closed_at - start, 3.0, "closed at about the request timeout (1 s)")
        self.assertEqual(get_metrics(node.metrics, SCRAPE_DEADLINE)[0], 200)


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class BasicAuth(unittest.TestCase):
    USER, PASSWORD = "prometheus", "correct horse: battery staple"

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="roster-auth-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.auth_file = os.path.join(self.dir, "metrics-auth")
        fd = os.open(self.auth_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"# who may scrape /metrics\n{self.USER}:{self.PASSWORD}\ngrafana:another one\n")
        _, self.node = single_voter(self, "--metrics-auth-file", self.auth_file)

    def get(self, authorization=None):
        host, port = self.node.metrics.rsplit(":", 1)
        c = http.client.HTTPConnection(host, int(port), timeout=SCRAPE_DEADLINE)
        try:
            c.request("GET", "/metrics", headers={"Authorization": authorization} if authorization else {})
            r = c.getresponse()
            return r.status, r.getheader("WWW-Authenticate"), r.read().decode()
        finally:
            c.close()

    def test_only_the_right_user_and_password_read_the_metrics(self):
        refused = [
            ("no credentials", None, False),
            ("a wrong password", basic(self.USER, "correct horse: battery stapl"), True),
            ("the other user's password", basic(self.USER, "another one"), True),
            ("a wrong user", basic("root", self.PASSWORD), True),
            ("an empty user and password", basic("", ""), True),
            ("not base64", "Basic !!!!", False),
            ("another scheme", "Bearer " + self.PASSWORD, False),
        ]
        for what, header, reaches_the_check in refused:
            status, challenge, body = self.get(header)
            self.assertEqual(status, 401, what)
            self.assertEqual(challenge, 'Basic realm="roster"', what)
            self.assertNotIn("roster_", body, what)
        status, _, body = self.get(basic(self.USER, self.PASSWORD))
        self.assertEqual(status, 200)
        self.assertIn("roster_build_info", body)
        self.assertEqual(self.get(basic("grafana", "another one"))[0], 200)
        out = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        # Wrong credentials are counted; a request without any never reaches the check.
        counted = sum(samples(body, "roster_metrics_auth_refused_total").values())
        self.assertEqual(counted, sum(1 for _, _, reaches in refused if reaches))


class AuthFileErrors(unittest.TestCase):
    """A bad --metrics-auth-file is a clear error at start: rosterd exits 1 naming the file (and
    the line), and never prints a password."""

    def rosterd(self, auth_file):
        listen, peer, publish, metrics = allocate(4)
        return subprocess.run([binary("rosterd"), "--dev", "--listen", f"127.0.0.1:{listen}",
                               "--peer-listen", f"127.0.0.1:{peer}", "--publish", f"127.0.0.1:{publish}",
                               "--metrics-listen", f"127.0.0.1:{metrics}", "--metrics-auth-file", auth_file],
                              capture_output=True, text=True, timeout=20)

    def write(self, text, mode=0o600):
        d = tempfile.mkdtemp(prefix="roster-auth-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        path = os.path.join(d, "metrics-auth")
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def test_a_bad_auth_file_stops_rosterd_at_start(self):
        missing = os.path.join(tempfile.gettempdir(), "roster-no-such-auth-file")
        cases = [
            (missing, f"--metrics-auth-file {missing}: No such file or directory"),
            (self.write("prometheus:hunter2\n", 0o644),
             "must not be readable by others (chmod 600)"),
            (self.write("# scrapers\nprometheus:hunter2\nhunter2\n"), ", line 3: no colon; each line is user:password"),
            (self.write("prometheus: hunter2\n"), ", line 1: the password begins or ends with a space"),
            (self.write("prometheus:hunter2\nprometheus:hunter3\n"), ", line 2: user 'prometheus' appears twice"),
            (self.write("# nobody yet\n"), ": no user:password line"),
        ]
        for path, message in cases:
            out = self.rosterd(path)
            self.assertEqual(out.returncode, 1, f"{message}: {out.stderr}")
            self.assertIn(f"rosterd: --metrics-auth-file {path}", out.stderr)
            self.assertIn(message, out.stderr)
            self.assertNotIn("hunter", out.stderr)


if __name__ == "__main__":
    unittest.main()

"""The README's "A three-voter cluster", as a reader runs it (issue 15, point 6).

ReadmeCluster runs the section's shell blocks as written, in one bash, in a temporary directory,
with build/bin on PATH (as the section tells the reader to): the keys, the three voters and the
member (the section starts them in the background, with `&`), then the rosterctl block, repeated
until `members` lists v1, v2, v3 and app1 or a deadline passes. Everything the blocks started is
in the process group of that bash, and is stopped (SIGTERM, then SIGKILL) whatever happens. The
section's ports are fixed (those of scripts/demo), so the test first takes the rosterkit port
blocks that hold them (tests/pylib/rosterkit/ports.py), so that no other test of the scheme is
handed them while it runs, and fails with the holder's pid if something else listens there.

ReadmeStatic reads the section without running it: every node on its own ports, data directories
a normal user can write, the ports those of scripts/demo's voters and first member, and
dashboards/prometheus.yml scraping exactly the section's --metrics-listen ports (voters in job
roster-voters, members in roster-members).

Run by ctest (label `integration`); alone:
    ROSTER_BIN=build/bin /usr/bin/python3 -m unittest -v tests/integration/test_readme.py
"""

import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import unittest

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rosterkit import ports  # noqa: E402
from rosterkit.paths import BIN, ROOT  # noqa: E402
from rosterkit.waiting import WaitTimeout, wait_for  # noqa: E402

SECTION = "A three-voter cluster"
NAMES = ["v1", "v2", "v3", "app1"]  # what `members` must list at the end
FORMED_WITHIN = 60  # seconds from the last block to all four listed (about 1 s on an idle machine)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def section(text, title):
    """The body of the README section `## title` (up to the next `## `)."""
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, re.M | re.S)
    if not m:
        raise AssertionError(f"README.md has no section '## {title}'")
    return m.group(1)


def shell_blocks(text):
    return re.findall(r"^```sh\n(.*?)^```", text, re.M | re.S)


def commands(block):
    """The block's commands, with backslash-continued lines joined."""
    return re.sub(r"\\\n\s*", " ", block)


def nodes(blocks):
    """{name: {flag: value}} of every `rosterd` command of the blocks."""
    out = {}
    for line in commands("\n".join(blocks)).splitlines():
        line = line.strip()
        if not line.startswith("rosterd "):
            continue
        flags = dict(re.findall(r"(--[a-z-]+)[ =]((?:\"[^\"]*\")|[^\s&>]+)", line))
        name = flags.get("--name")
        if name is None:
            raise AssertionError(f"a rosterd command of the section without --name: {line}")
        out[name] = flags
    return out


def port_of(host_port):
    return int(host_port.rsplit(":", 1)[1])


def voters_peer_ports(text):
    """The ports of the VOTERS=1@H:P,... line of the section."""
    m = re.search(r"^VOTERS=(\S+)", text, re.M)
    if not m:
        raise AssertionError("the section sets no VOTERS=...")
    return [port_of(e.split("@", 1)[1]) for e in m.group(1).split(",")]


# ---- processes -----------------------------------------------------------------------------

def group_pids(pgid):
    """Live (not zombie) processes of process group pgid."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()  # state ppid pgrp ...
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            pids.append(int(entry))
    return pids


def stop_group(pgid):
    """SIGTERM to everything of the group (each rosterd leaves the views, then exits), SIGKILL to
    what is still there after 15 s; returns once the group is empty."""
    for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        try:
            wait_for(f"the processes of group {pgid} to exit", lambda: not group_pids(pgid), grace, 0.1)
            return
        except WaitTimeout:
            continue
    raise AssertionError(f"processes {group_pids(pgid)} of group {pgid} outlived SIGKILL")


def bindable_as_rosterd(port):
    """rosterd (ZeroMQ) could bind 127.0.0.1:port now: with SO_REUSEADDR, as ZeroMQ binds, so that
    connections of an earlier run in TIME_WAIT do not count, and only a listener does."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def take_port_blocks(wanted, timeout=120):
    """Locks the rosterkit port blocks that hold the ports `wanted` (waiting up to `timeout` s
    for a test that holds one to end); returns the open lock files (closed: released)."""
    lo, hi = ports.port_range()
    firsts = sorted({lo + (p - lo) // ports.BLOCK * ports.BLOCK for p in wanted if lo <= p < hi})
    os.makedirs(ports.LOCK_DIR, exist_ok=True)
    held = []
    try:
        for first in firsts:
            f = open(os.path.join(ports.LOCK_DIR, f"{first}.lock"), "a")
            held.append(f)

            def locked(f=f):
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return True
                except BlockingIOError:
                    return False
            wait_for(f"the port block {first}-{first + ports.BLOCK - 1} (another test holds it)", locked, timeout, 0.2)
    except BaseException:
        for f in held:
            f.close()
        raise
    return held


# The rosterctl block, asked until `members` lists every node (the voters need about a second to
# elect a leader and app1 to join), within a deadline.
CHECK = r"""
check() {
%(block)s
}
listed() { for n in %(names)s; do grep -qw -- "$n" <<<"$out" || return 1; done; }
deadline=$((SECONDS + %(within)d))
until out=$(check 2>&1) && listed; do
  if (( SECONDS >= deadline )); then
    printf 'test_readme: members did not list %(names)s within %(within)d s; the last answer:\n%%s\n' "$out"
    exit 3
  fi
  sleep 0.2
done
printf '%%s\n' "$out"
"""


class ReadmeCluster(unittest.TestCase):
    def test_the_section_runs_as_written_and_members_lists_every_node(self):
        text = section(read(os.path.join(ROOT, "README.md")), SECTION)
        blocks = shell_blocks(text)
        self.assertGreaterEqual(len(blocks), 2, "the section has no shell blocks to run")
        self.assertIn("rosterctl", blocks[-1])
        self.assertRegex(blocks[-1], r"\bmembers\b", "the section's last block lists the members")
        self.assertEqual(sorted(nodes(blocks)), sorted(NAMES))
        for binary in ("rosterd", "rosterctl"):
            self.assertTrue(os.access(os.path.join(BIN, binary), os.X_OK), f"{BIN}/{binary}: build it first")

        wanted = set(voters_peer_ports(text))
        for flags in nodes(blocks).values():
            wanted |= {port_of(flags[f]) for f in ("--listen", "--publish", "--metrics-listen")}
        for f in take_port_blocks(wanted):
            self.addCleanup(f.close)
        busy = {p: ports.holders(p) for p in sorted(wanted) if not bindable_as_rosterd(p)}
        self.assertFalse(busy, f"the README's ports are in use (port: pids) {busy}: is scripts/demo or the "
                               "README cluster running?")

        work = tempfile.mkdtemp(prefix="roster-readme-")
        self.addCleanup(shutil.rmtree, work, ignore_errors=True)
        script = ("set -eu\n" + "\n".join(blocks[:-1]) +
                  CHECK % {"block": blocks[-1], "names": " ".join(NAMES), "within": FORMED_WITHIN})
        with open(os.path.join(work, "readme.sh"), "w") as f:
            f.write(script)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROSTER_")}
        env["PATH"] = BIN + os.pathsep + env.get("PATH", "/usr/bin:/bin")
        shell = subprocess.Popen(["bash", "readme.sh"], cwd=work, env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 start_new_session=True)
        # Cleanups run last-in first-out: the processes stop before the directory goes.
        self.addCleanup(stop_group, shell.pid)
        try:
            output, _ = shell.communicate(timeout=FORMED_WITHIN + 60)
        except subprocess.TimeoutExpired:
            stop_group(shell.pid)
            output, _ = shell.communicate()
            self.fail(f"the README's blocks did not finish:\n{output}{self.logs(work)}")
        self.assertEqual(shell.returncode, 0, f"the README's blocks failed:\n{output}{self.logs(work)}")
        for name in NAMES:
            self.assertRegex(output, rf"(?<![\w-]){re.escape(name)}(?![\w-])", f"members does not list {name}")
        # The nodes are still up after the blocks: started in the background, as the section says.
        alive = group_pids(shell.pid)
        self.assertEqual(len(alive), len(NAMES), f"expected the {len(NAMES)} rosterd of the section to run, "
                                                 f"found pids {alive}{self.logs(work)}")

    @staticmethod
    def logs(work):
        out = []
        for dirpath, _, files in os.walk(work):
            for name in sorted(files):
                if name.endswith(".log"):
                    lines = read(os.path.join(dirpath, name)).splitlines()[-15:]
                    out.append(f"\n--- {name} (last lines)\n" + "\n".join(lines))
        return "".join(out)


class ReadmeStatic(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.text = section(read(os.path.join(ROOT, "README.md")), SECTION)
        cls.blocks = shell_blocks(cls.text)
        cls.nodes = nodes(cls.blocks)

    def test_every_node_has_ports_of_its_own_and_a_data_dir_a_user_can_write(self):
        seen = {}
        for port in voters_peer_ports(self.text):
            seen.setdefault(port, []).append("--voters")
        for name, flags in self.nodes.items():
            for flag in ("--listen", "--publish", "--metrics-listen"):
                self.assertIn(flag, flags, f"{name} has no {flag}: it would take the default port")
                seen.setdefault(port_of(flags[flag]), []).append(f"{name} {flag}")
            if "--voter-id" in flags:
                self.assertFalse(os.path.isabs(flags["--data-dir"]),
                                 f"{name}: --data-dir {flags['--data-dir']} needs root; use a relative one")
        shared = {p: who for p, who in seen.items() if len(who) > 1}
        self.assertFalse(shared, f"ports used twice: {shared}")

    def test_the_ports_are_those_of_the_demo(self):
        demo = read(os.path.join(ROOT, "scripts", "demo"))
        base = re.search(r"base=\$\{ROSTER_DEMO_PORT:-(\d+)\}", demo)
        self.assertIsNotNone(base, "scripts/demo: no base=${ROSTER_DEMO_PORT:-N} (update this test)")

        def ports_of(function, i):
            body = re.search(rf"^{function}\(\) {{.*?^}}", demo, re.M | re.S)
            self.assertIsNotNone(body, f"scripts/demo has no {function}() (update this test)")
            p = re.search(r"local p=\$\(\((.*?)\)\)\n", body.group(0))
            self.assertIsNotNone(p, f"scripts/demo {function}: no `local p=$((...))` (update this test)")
            flags = re.findall(r"(--listen|--publish|--metrics-listen) \"127\.0\.0\.1:\$(?:p|\(\(p \+ (\d+)\)\))\"",
                               body.group(0))
            self.assertEqual(len(flags), 3, f"scripts/demo {function}: cannot read its ports (update this test)")
            first = int(subprocess.run(["bash", "-c", f"base={base.group(1)}; i={i}; echo $(({p.group(1)}))"],
                                       capture_output=True, text=True, check=True).stdout)
            return {flag: first + int(offset or 0) for flag, offset in flags}

        for i in (1, 2, 3):
            readme = {f: port_of(self.nodes[f"v{i}"][f]) for f in ("--listen", "--publish", "--metrics-listen")}
            self.assertEqual(readme, ports_of("start_voter", i), f"v{i}: README and scripts/demo differ")
        readme = {f: port_of(self.nodes["app1"][f]) for f in ("--listen", "--publish", "--metrics-listen")}
        self.assertEqual(readme, ports_of("start_member", 1), "app1 and the demo's m1: README and scripts/demo differ")

    def test_prometheus_scrapes_exactly_the_sections_metrics_ports(self):
        with open(os.path.join(ROOT, "dashboards", "prometheus.yml")) as f:
            config = yaml.safe_load(f)
        jobs = {}
        for job in config["scrape_configs"]:
            for static in job.get("static_configs", []):
                jobs.setdefault(job["job_name"], set()).update(static["targets"])
        voters = {n["--metrics-listen"] for n in self.nodes.values() if "--voter-id" in n}
        members = {n["--metrics-listen"] for n in self.nodes.values() if "--voter-id" not in n}
        self.assertEqual(jobs, {"roster-voters": voters, "roster-members": members},
                         "dashboards/prometheus.yml must scrape the README cluster's --metrics-listen ports")


if __name__ == "__main__":
    unittest.main()

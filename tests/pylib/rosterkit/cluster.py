"""Real rosterd processes on loopback: the harness of the integration, monitoring and example
tests and of the benchmarks.

A Cluster has n voters (made at once, started with start_voters) and members added by name; a
Watcher is `rosterctl watch --json` on one node.

Cluster(secure=True) runs it secured, as docs/security.md says (issue 13): every node has a key
file (keys.py), the voters take --voter-keys and --authorized-keys, the members --join
1@HOST:PORT,... with the voters' keys, and the harness asks the nodes with a `reader` key of its
own. A member's key is authorized as `member NAME` (member_key(NAME) before start_voters, or at
add_member, which then makes the voters re-read the file with SIGHUP).

Every process is a procs.Proc, and the Cluster kills all it started in cleanup() -- call it from
a `with` block, from unittest's addCleanup (cluster_for() does both for a test case), or leave it
to the atexit of procs.py as the last resort. Members whose voters died are killed like any other.

Ports come from ports.allocate (blocks owned under a lock, so concurrent tests cannot collide).
A node counts as started once it listens on all its ports (read from /proc). If rosterd exits
saying a port is in use (a program outside the scheme took it), the node is started again on
fresh ports, where that is safe: a member's first start, or the voters' first start_voters (the
voters are then all started afresh with the new --voters list, before any member exists).
After that a voter's ports are in every other voter's flags, and PortInUse names the holder.

Cluster(hosts={name: netns.Host}) places the nodes so named on hosts of a netns.Topology (each in
its own network namespace, with its own address): such a node listens on that host's address with
the fixed ports of HOST_PORTS, runs under `ip netns exec`, and is asked from inside its namespace.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from . import ports
from .keys import authorized_line, make_key, write_authorized_keys
from .paths import binary
from .procs import Proc
from .waiting import GiveUp, wait_for

# What rosterd prints when one of its ports is taken (daemon/endpoint.cc, bind_error: from
# daemon/transport.cc for --listen, --publish and --peer-listen, daemon/metrics.cc for
# --metrics-listen).
_IN_USE = re.compile(r"--[\w-]+ \S+: address in use")
START_ATTEMPTS = 3
# The ports of a node alone on its host (a network namespace of its own): rosterd's defaults.
HOST_PORTS = {"listen": 7400, "peer": 7401, "publish": 7402, "metrics": 7403}

# rosterd's adaptive heartbeat levels (detector/heartbeat_interval.hh): (members up to, interval ms).
ADAPTIVE_LEVELS = [(1000, 50), (2000, 100), (4000, 200), (10000, 500), (float("inf"), 1000)]


def adaptive_interval_ms(members):
    """The interval rosterd's default heartbeats at for a view of `members` (a cluster that grew
    to it; a shrinking one comes back a tenth below a bound)."""
    return next(ms for up_to, ms in ADAPTIVE_LEVELS if members <= up_to)


class PortInUse(GiveUp):
    """rosterd exited at start because one of its ports was taken."""


class Node:
    """One rosterd: its flags, ports and log file; start() again after a kill reuses them."""

    def __init__(self, name, log_path, node_ports, voter_id=None, key=None, host=None):
        self.name, self.log_path = name, log_path
        self.host = host             # a netns.Host to run on, or None: this namespace's loopback
        self.ports = node_ports      # role ("listen", "publish", "metrics", "peer") -> port
        self.args = []               # set by the Cluster from the ports
        self.proc = None
        self.voter_id = voter_id     # 1.. for a voter, None for a member
        self.key = key               # its keys.Key in a secured cluster, else None

    @property
    def ip(self):
        return self.host.ip if self.host else "127.0.0.1"

    @property
    def prefix(self):
        """The command prefix that runs a program where this node runs (next to it)."""
        return list(self.host.prefix) if self.host else []

    def _endpoint(self, role):
        return f"{self.ip}:{self.ports[role]}"

    @property
    def listen(self):
        return self._endpoint("listen")

    @property
    def publish(self):
        return self._endpoint("publish")

    @property
    def metrics(self):
        return self._endpoint("metrics")

    @property
    def peer(self):
        return self._endpoint("peer")

    def start(self, wait=True):
        """Starts rosterd; with wait, returns once it listens on all its ports (PortInUse, or
        GiveUp with its log, if it exits first)."""
        if self.alive():
            raise RuntimeError(f"rosterd {self.name} is running already (pid {self.proc.pid})")
        self._log_offset = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        self.proc = Proc([binary("rosterd")] + self.args, prefix=self.prefix, log_path=self.log_path)
        if wait:
            self.wait_up()
        return self

    def wait_up(self, timeout=15.0):
        want = set(self.ports.values())

        def up():
            if want <= ports.listening_ports(self.proc.pid):
                return True
            if self.proc.alive():
                return False
            text = self._log_since_start()
            if _IN_USE.search(text):
                raise PortInUse(f"rosterd {self.name} could not start: {_IN_USE.search(text).group(0)} "
                                f"(ports {self.ports}; holders: " +
                                ", ".join(f"{p}: {ports.holders(p)}" for p in want) + ")")
            raise GiveUp(f"rosterd {self.name} exited with {self.proc.returncode} at start:\n{text[-2000:]}")
        wait_for(f"rosterd {self.name} to listen on {sorted(want)}", up, timeout, interval=0.01)

    def _log_since_start(self):
        with open(self.log_path, "rb") as f:
            f.seek(self._log_offset)
            return f.read().decode(errors="replace")

    def alive(self):
        return self.proc is not None and self.proc.alive()

    def kill(self, sig=signal.SIGKILL):
        """Sends sig (SIGKILL, SIGTERM, SIGSTOP, SIGCONT...) if it runs; wait() reaps it."""
        if self.alive():
            self.proc.signal(sig)

    def wait(self, timeout=10.0):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        """SIGKILL and reap (nothing if it never started or is already gone)."""
        if self.proc is not None:
            self.proc.kill()

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


class Watcher(Proc):
    """`rosterctl watch --json` in the background; views are parsed as they come, each with the
    time.monotonic() of its arrival under "_arrived"; events ("removed", "rejoined") apart."""

    def __init__(self, endpoint, cluster="roster", log_path=None, credentials=(), prefix=None):
        """endpoint: HOST:PORT, or the credentials and endpoint flags of Cluster.client_args;
        prefix: where to run it (a node's prefix)."""
        self.events = []
        where = list(credentials) or ["--endpoint", endpoint]
        super().__init__([binary("rosterctl")] + where + ["--cluster", cluster, "watch", "--json"],
                         prefix=prefix, log_path=log_path, capture=True, parse=self._parse_line)

    def _parse_line(self, line):
        try:
            obj = json.loads(line)
        except ValueError:
            return None
        obj["_arrived"] = time.monotonic()
        if "event" in obj:
            with self._lock:
                self.events.append(obj)
            return None
        return obj

    def stop(self):
        self.kill()


class Cluster:
    """A cluster of rosterd on loopback: n voters, members added by name."""

    def __init__(self, voters=3, heartbeat_ms=100, cluster="roster", workdir=None, voter_args=(), member_args=(),
                 secure=False, hosts=None, log_dir=None, key_maker=make_key):
        """hosts: {node name: netns.Host} for the nodes that run on a host of their own (the others
        on this namespace's loopback); log_dir: where the nodes' logs go (default: workdir);
        key_maker(directory, name): makes a node's key (keys.make_key, or keys.rosterctl_keygen)."""
        self.dir = workdir or tempfile.mkdtemp(prefix="roster-it-")
        os.makedirs(self.dir, exist_ok=True)
        self.hosts = dict(hosts or {})
        self.log_dir = log_dir or self.dir
        os.makedirs(self.log_dir, exist_ok=True)
        self.key_maker = key_maker
        self.cluster = cluster
        self.heartbeat_ms = heartbeat_ms
        self.voter_args = list(voter_args)
        self.member_args = list(member_args)
        self.secure = secure
        self.keys_dir = os.path.join(self.dir, "keys")
        self.authorized_keys = os.path.join(self.dir, "authorized_keys")
        self.authorized = {}                   # name -> (Key, role line) of --authorized-keys, in order
        self.client_key = None                 # the harness's own key (`reader`), secured only
        if secure:
            self.client_key = key_maker(self.keys_dir, "rosterkit-reader")
            self.authorized["rosterkit-reader"] = (self.client_key, authorized_line(self.client_key, "reader"))
        self.voter_nodes = [Node(f"v{i + 1}", os.path.join(self.log_dir, f"v{i + 1}.log"),
                                 self._voter_ports(f"v{i + 1}"), voter_id=i + 1,
                                 key=key_maker(self.keys_dir, f"v{i + 1}") if secure else None,
                                 host=self.hosts.get(f"v{i + 1}"))
                            for i in range(voters)]
        self._set_voter_args()
        self.members = {}
        self.watchers = []
        self._nodes = list(self.voter_nodes)   # every node ever made, for stop()
        self.keep_logs = False                 # cleanup() keeps the directory (set after a failure)
        self._voters_started = False           # once true, the voters' ports are in each other's flags

    def _voter_ports(self, name):
        if name in self.hosts:
            return dict(HOST_PORTS)
        return dict(zip(("listen", "peer", "publish", "metrics"), ports.allocate(4)))

    def _member_ports(self, name):
        if name in self.hosts:
            return {k: v for k, v in HOST_PORTS.items() if k != "peer"}
        return dict(zip(("listen", "publish", "metrics"), ports.allocate(3)))

    def _common_args(self, node):
        # heartbeat_ms=None: rosterd's default, an interval that adapts to the cluster's size.
        return ["--name", node.name, "--cluster", self.cluster, "--listen", node.listen,
                "--publish", node.publish, "--metrics-listen", node.metrics] + (
                    [] if self.heartbeat_ms is None else ["--heartbeat-interval-ms", str(self.heartbeat_ms)])

    def _security_args(self, node):
        if not self.secure:
            return []
        return ["--key-file", node.key.path, "--voter-keys", self.voter_keys(),
                "--authorized-keys", self.authorized_keys]

    def _set_voter_args(self):
        peers = ",".join(f"{i + 1}@{v.peer}" for i, v in enumerate(self.voter_nodes))
        # A secured member names each voter, so that it knows which --voter-keys entry to expect.
        self.join = ",".join((f"{v.voter_id}@" if self.secure else "") + v.listen for v in self.voter_nodes)
        for i, v in enumerate(self.voter_nodes):
            v.args = self._common_args(v) + ["--voter-id", str(i + 1), "--voters", peers,
                                              "--data-dir", os.path.join(self.dir, v.name)] + \
                self._security_args(v) + self.voter_args

    # -- keys (secured) -----------------------------------------------------------------
    def voter_keys(self):
        """The --voter-keys flag's value: 1=PUB,2=PUB,..."""
        return ",".join(f"{v.voter_id}={v.key.public}" for v in self.voter_nodes)

    def member_key(self, name, key=None):
        """The key authorized as `member NAME` (made -- or `key`, written to its file -- and added
        to --authorized-keys the first time; call before start_voters, or reload_keys() after)."""
        if name not in self.authorized:
            key = key.write(os.path.join(self.keys_dir, f"{name}.key")) if key else self.key_maker(self.keys_dir, name)
            self.authorized[name] = (key, authorized_line(key, "member", name))
            self.write_authorized_keys()
        return self.authorized[name][0]

    def revoke(self, name):
        """Drops NAME's line from --authorized-keys (reload_keys() makes the nodes read it)."""
        del self.authorized[name]
        self.write_authorized_keys()

    def write_authorized_keys(self):
        if self.secure:
            write_authorized_keys(self.authorized_keys, [line for _, line in self.authorized.values()])

    def reload_keys(self):
        """SIGHUP to every running voter: they read --authorized-keys again. (The members read it
        for their local clients only, and the harness's reader key never changes.)"""
        for v in self.voter_nodes:
            if v.alive():
                v.kill(signal.SIGHUP)

    def server_key(self, node):
        """The public key a client of `node` must expect (None when not secured)."""
        return node.key.public if node.key else None

    def client_args(self, node):
        """rosterctl's flags to reach `node`: the endpoint, and in a secured cluster the harness's
        key and the node's server key (--voter-keys and an id for a voter, --server-key for a member)."""
        if not self.secure:
            return ["--endpoint", node.listen]
        if node.voter_id is not None:
            return ["--key-file", self.client_key.path, "--voter-keys", self.voter_keys(),
                    "--endpoint", f"{node.voter_id}@{node.listen}"]
        # "--server-key=KEY": a Z85 key may start with "-", which an argparse client takes for an option.
        return ["--key-file", self.client_key.path, f"--server-key={node.key.public}", "--endpoint", node.listen]

    # -- processes ----------------------------------------------------------------------
    def start_voters(self, which=None):
        """Starts the voters (by index; all by default) and returns once each listens."""
        self.write_authorized_keys()
        chosen = [v for i, v in enumerate(self.voter_nodes) if which is None or i in which]
        for attempt in range(1, START_ATTEMPTS + 1):
            for v in chosen:
                v.start(wait=False)
            busy = []
            for v in chosen:
                try:
                    v.wait_up()
                except PortInUse as e:
                    busy.append((v, e))
            if not busy:
                self._voters_started = True
                return
            if self._voters_started or self.members or attempt == START_ATTEMPTS:
                raise busy[0][1]
            # Nothing has formed yet: move the voters whose ports were taken, and start every
            # chosen voter afresh with the new --voters list (empty data directories).
            for v in chosen:
                v.stop()
                shutil.rmtree(os.path.join(self.dir, v.name), ignore_errors=True)
            for v, e in busy:
                print(f"\n{e}; starting the voters again on fresh ports", flush=True)
                v.ports = self._voter_ports(v.name)
            self._set_voter_args()

    def add_member_node(self, name):
        """The Node of a new member that joins through the voters, with its flags, not started
        (add_member starts it). In a secured cluster its key is authorized first (with a
        reload_keys() if that is new)."""
        key = None
        if self.secure:
            new = name not in self.authorized
            key = self.member_key(name)
            if new and self._voters_started:
                self.reload_keys()
        node = Node(name, os.path.join(self.log_dir, f"{name}.log"), self._member_ports(name), key=key,
                    host=self.hosts.get(name))
        self._nodes.append(node)
        self.members[name] = node
        self._set_member_args(node)
        return node

    def _set_member_args(self, node):
        node.args = self._common_args(node) + ["--join", self.join] + self._security_args(node) + self.member_args

    def add_member(self, name):
        """Starts a member that joins through the voters (add_member_node); returns its Node once
        it listens."""
        node = self.add_member_node(name)
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                return node.start()
            except PortInUse as e:
                if attempt == START_ATTEMPTS:
                    raise
                # It never started, so it never joined: fresh ports are safe.
                print(f"\n{e}; starting it again on fresh ports", flush=True)
                node.ports = self._member_ports(name)
                self._set_member_args(node)

    def watch(self, node):
        w = Watcher(node.listen, self.cluster, os.path.join(self.dir, f"watch-{len(self.watchers)}.err"),
                    credentials=self.client_args(node), prefix=node.prefix)
        self.watchers.append(w)
        return w

    def stop(self):
        """Kills (SIGKILL) and reaps every process of the cluster: watchers, members, voters."""
        for w in self.watchers:
            w.stop()
        for n in self._nodes:
            n.stop()

    def cleanup(self, keep_logs=False):
        """stop(), then removes the directory (kept with keep_logs, self.keep_logs or
        ROSTER_KEEP_LOGS set)."""
        self.stop()
        if keep_logs or self.keep_logs or os.environ.get("ROSTER_KEEP_LOGS"):
            print(f"\nlogs in {self.dir}", flush=True)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def cleanup_after(self, testcase):
        """cleanup() for unittest's addCleanup: if the test failed, prints the end of every
        node's log first and keeps the logs."""
        failed = test_failed(testcase)
        if failed:
            self.print_logs()
        self.cleanup(keep_logs=failed)

    def print_logs(self, lines=15):
        """Prints the end of every node's log."""
        for n in self._nodes:
            if os.path.exists(n.log_path):
                print(f"\n--- {n.name}\n" + "\n".join(n.log_text().splitlines()[-lines:]), flush=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.cleanup(keep_logs=exc_type is not None)

    # -- queries ------------------------------------------------------------------------
    def ctl(self, node, *args, timeout_ms=2000):
        out = subprocess.run(node.prefix + [binary("rosterctl")] + self.client_args(node) + ["--cluster", self.cluster,
                              "--timeout", str(timeout_ms)] + list(args) + ["--json"],
                             capture_output=True, text=True, timeout=timeout_ms / 1000 + 5)
        if out.returncode != 0:
            raise RuntimeError(out.stderr.strip())
        return json.loads(out.stdout)

    def members_of(self, node):
        return self.ctl(node, "members")

    def names_in_view(self, node):
        return sorted(m["name"] for m in self.members_of(node)["members"])

    def leader_voter(self):
        """The voter whose status says leader (None if none answers so)."""
        for v in self.voter_nodes:
            if v.alive():
                try:
                    if self.ctl(v, "status", timeout_ms=500)["role"] == "leader":
                        return v
                except Exception:  # noqa: BLE001 -- a voter that does not answer is not the leader
                    pass
        return None

    def wait_formed(self, names, timeout=20.0):
        """Every live node reports a view with exactly these names."""
        want = sorted(names)

        def formed():
            return all(self.names_in_view(n) == want
                       for n in self.voter_nodes + list(self.members.values()) if n.alive())
        try:
            return wait_for(f"every node to hold a view of {want}", formed, timeout)
        except AssertionError as e:
            raise type(e)(f"{e}\n{self.describe()}") from None

    def describe(self):
        """What each node says it holds, and the end of the log of each that does not answer."""
        out = []
        for n in self.voter_nodes + list(self.members.values()):
            try:
                out.append(f"  {n.name}: {self.names_in_view(n)}")
            except Exception as e:  # noqa: BLE001
                tail = n.log_text().strip().splitlines()[-3:] if os.path.exists(n.log_path) else []
                out.append(f"  {n.name}: {'running' if n.alive() else 'exited'}, no answer ({e}); log: {tail}")
        return "\n".join(out)


def test_failed(testcase):
    """Whether the test case has failed or raised so far; for its tearDown and cleanups, which
    unittest (3.11) runs each with a fresh `_outcome.success` of True, but only after it has
    recorded the failure in the result."""
    result = getattr(getattr(testcase, "_outcome", None), "result", None)
    if result is None:
        return False
    # A failed subTest is recorded under a _SubTest that names its test case.
    return any(test is testcase or getattr(test, "test_case", None) is testcase
               for test, _ in list(result.errors) + list(result.failures))


def cluster_for(testcase, **kwargs):
    """A Cluster(**kwargs) that the test case cleans up whatever happens: registered with
    addCleanup at once, so it runs even when setUp fails after this (tearDown would not)."""
    c = Cluster(**kwargs)
    testcase.addCleanup(c.cleanup_after, testcase)
    return c

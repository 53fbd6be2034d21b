"""Real rosterd processes on loopback, for the integration tests.

Every wait polls for a condition with a deadline; nothing sleeps and hopes. Ports are taken
chosen at random below the kernel's ephemeral range and checked free (see free_ports).
"""

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

BIN = os.environ.get("ROSTER_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin"))


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
            return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


_rng = random.Random()


def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1, below the kernel's ephemeral range.

    A port that bind(0) hands out comes from the ephemeral range, the same pool the kernel draws
    from for outgoing connections: between closing it and rosterd binding it, another node's
    connect() can take it ("Address already in use"). Ports below that range are never handed
    out implicitly, so a port found free here stays free unless someone binds it by number."""
    lo = max(1024, min(20000, _ephemeral_range()[0] - 12000))
    hi = _ephemeral_range()[0]
    ports = []
    while len(ports) < n:
        p = _rng.randrange(lo, hi)
        if p in ports:
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", p))
            ports.append(p)
        except OSError:
            pass
        finally:
            s.close()
    return ports


def wait_for(what, predicate, timeout=20.0, interval=0.05):
    """Polls predicate() until it returns something truthy; raises with `what` after the deadline."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # a node not up yet, a parse of a partial line...
            last_error = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}" +
                         (f" (last error: {last_error})" if last_error else ""))


class Node:
    def __init__(self, name, args, log_path, listen, publish, metrics):
        self.name, self.args, self.log_path = name, args, log_path
        self.listen, self.publish, self.metrics = listen, publish, metrics
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([os.path.join(BIN, "rosterd")] + self.args,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL):
        if self.alive():
            self.proc.send_signal(sig)

    def wait(self, timeout=10.0):
        return self.proc.wait(timeout=timeout)

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


class Watcher:
    """`rosterctl watch --json` in the background; its lines are parsed as they come."""

    def __init__(self, endpoint, cluster="roster"):
        self.proc = subprocess.Popen([os.path.join(BIN, "rosterctl"), "--endpoint", endpoint,
                                      "--cluster", cluster, "watch", "--json"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.views, self.events = [], []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        for line in self.proc.stdout:
            obj = json.loads(line)
            obj["_arrived"] = time.monotonic()
            with self._lock:
                (self.events if "event" in obj else self.views).append(obj)

    def snapshot(self):
        with self._lock:
            return list(self.views)

    def last(self):
        with self._lock:
            return self.views[-1] if self.views else None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class Cluster:
    """A cluster of rosterd on loopback: n voters, members added by name."""

    def __init__(self, voters=3, heartbeat_ms=100, cluster="roster", workdir=None, voter_args=(), member_args=()):
        self.dir = workdir or tempfile.mkdtemp(prefix="roster-it-")
        self.cluster = cluster
        self.heartbeat_ms = heartbeat_ms
        ports = free_ports(4 * voters)
        self.voter_nodes = []
        peers = ",".join(f"{i + 1}@127.0.0.1:{ports[4 * i + 1]}" for i in range(voters))
        self.join = ",".join(f"127.0.0.1:{ports[4 * i]}" for i in range(voters))
        for i in range(voters):
            listen, peer, publish, metrics = ports[4 * i:4 * i + 4]
            args = ["--name", f"v{i + 1}", "--cluster", cluster, "--voter-id", str(i + 1), "--voters", peers,
                    "--data-dir", os.path.join(self.dir, f"v{i + 1}"),
                    "--listen", f"127.0.0.1:{listen}", "--publish", f"127.0.0.1:{publish}",
                    "--metrics-listen", f"127.0.0.1:{metrics}", "--heartbeat-interval-ms", str(heartbeat_ms)]
            args += list(voter_args)
            self.voter_nodes.append(Node(f"v{i + 1}", args, os.path.join(self.dir, f"v{i + 1}.log"),
                                         f"127.0.0.1:{listen}", f"127.0.0.1:{publish}", f"127.0.0.1:{metrics}"))
        self.members = {}
        self.watchers = []
        self.member_args = list(member_args)

    # -- processes ----------------------------------------------------------------------
    def start_voters(self, which=None):
        """Starts the voters (by index; all by default)."""
        for i, v in enumerate(self.voter_nodes):
            if which is None or i in which:
                v.start()

    def add_member(self, name):
        listen, publish, metrics = free_ports(3)
        args = ["--name", name, "--cluster", self.cluster, "--join", self.join,
                "--listen", f"127.0.0.1:{listen}", "--publish", f"127.0.0.1:{publish}",
                "--metrics-listen", f"127.0.0.1:{metrics}", "--heartbeat-interval-ms", str(self.heartbeat_ms)]
        args += self.member_args
        node = Node(name, args, os.path.join(self.dir, f"{name}.log"),
                    f"127.0.0.1:{listen}", f"127.0.0.1:{publish}", f"127.0.0.1:{metrics}")
        self.members[name] = node.start()
        return node

    def watch(self, node):
        w = Watcher(node.listen, self.cluster)
        self.watchers.append(w)
        return w

    def stop(self):
        for w in self.watchers:
            w.stop()
        for n in self.voter_nodes + list(self.members.values()):
            n.kill(signal.SIGKILL)
            if n.proc is not None:
                n.proc.wait()

    def cleanup(self):
        self.stop()
        if os.environ.get("ROSTER_KEEP_LOGS") is None:
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- queries ------------------------------------------------------------------------
    def ctl(self, node, *args, timeout_ms=2000):
        out = subprocess.run([os.path.join(BIN, "rosterctl"), "--endpoint", node.listen, "--cluster", self.cluster,
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
                except Exception:
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
            raise AssertionError(f"{e}\n{self.describe()}") from None

    def describe(self):
        """What each node says it holds, and the end of the log of each that does not answer."""
        out = []
        for n in self.voter_nodes + list(self.members.values()):
            try:
                out.append(f"  {n.name}: {self.names_in_view(n)}")
            except Exception as e:
                tail = n.log_text().strip().splitlines()[-3:] if os.path.exists(n.log_path) else []
                out.append(f"  {n.name}: {'running' if n.alive() else 'exited'}, no answer ({e}); log: {tail}")
        return "\n".join(out)

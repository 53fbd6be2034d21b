"""peerlib: run ZooKeeper and etcd clusters plus client processes, and time
how fast they notice a dead client.  Processes, ports, waits and statistics
come from the shared kit, tests/pylib/rosterkit.

Everything that talks to a server runs as a separate process, started as
`prefix + argv` (prefix e.g. ["ip", "netns", "exec", "ns1"], default []) and
told which IP:port to use, so the same code can run inside network
namespaces.  The controlling process only reads the children's stdout and,
for ZooKeeper's four-letter words and etcdctl, runs short commands through
the same prefixes.  Timestamps are time.monotonic() (CLOCK_MONOTONIC), which
is one clock for all processes on the machine, namespaces included.

Use /usr/bin/python3 (Debian's, with python3-kazoo and python3-etcd3).
"""

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "pylib"))
from rosterkit.paths import PYTHON as PY  # noqa: E402
from rosterkit.ports import allocate  # noqa: E402
from rosterkit.procs import Proc  # noqa: E402
from rosterkit.waiting import GiveUp, wait_for  # noqa: E402

LOCAL_IP = "127.0.0.1"
MEMBERS_PATH = "/roster-bench/members"        # ZK parent znode
MEMBERS_PREFIX = MEMBERS_PATH + "/"           # etcd key prefix
FAILOVER_KEY = "/roster-bench/failover"       # what the writers write
# Debian's zookeeper.jar lists its dependencies in its manifest Class-Path;
# slf4j-simple makes the server log (to stderr, which we send to a file).
ZK_CLASSPATH = "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar"


# ---------------------------------------------------------------- helpers

def paced_writes(start, interval_ms, max_inflight):
    """For the failover writers: calls start(n, finished) every interval_ms, forever, without
    waiting for earlier writes (so a stalled write cannot hide the recovery), with at most
    max_inflight outstanding. The write calls finished() when it completes, either way."""
    lock = threading.Lock()
    inflight = 0

    def finished():
        nonlocal inflight
        with lock:
            inflight -= 1

    n = 0
    while True:
        with lock:
            room = inflight < max_inflight
            if room:
                inflight += 1
        if room:
            n += 1
            start(n, finished)
        time.sleep(interval_ms / 1000.0)


def run_in(prefix, argv, timeout):
    """Run a short command through a prefix; (rc, stdout) or (None, '')."""
    try:
        r = subprocess.run(list(prefix or []) + list(argv), capture_output=True,
                           text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        return r.returncode, r.stdout
    except (subprocess.TimeoutExpired, OSError):
        return None, ""


_FOURLW = ("import socket,sys\n"
           "s=socket.create_connection((sys.argv[1],int(sys.argv[2])),1.0);s.settimeout(1.0)\n"
           "s.sendall(sys.argv[3].encode());b=b''\n"
           "while True:\n d=s.recv(65536)\n if not d: break\n b+=d\n"
           "sys.stdout.write(b.decode(errors='replace'))\n")


def four_letter(ip, port, word, prefix=None, timeout=3.0):
    """A ZooKeeper four-letter word; the reply text, or None if unreachable."""
    if not prefix:          # direct, no need for a python process
        try:
            with socket.create_connection((ip, port), timeout=1.0) as s:
                s.settimeout(1.0)
                s.sendall(word.encode())
                chunks = []
                while True:
                    d = s.recv(65536)
                    if not d:
                        return b"".join(chunks).decode(errors="replace")
                    chunks.append(d)
        except OSError:
            return None
    rc, out = run_in(prefix, [PY, "-c", _FOURLW, ip, str(port), word], timeout)
    return out if rc == 0 else None


# ---------------------------------------------------------------- clusters

class _Cluster:
    """Common parts: 3 servers, one process each, per-server host IP and prefix."""
    N = 3

    def __init__(self, workdir, hosts, prefixes, nports, base_port):
        self.workdir = os.path.abspath(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.hosts = list(hosts or [LOCAL_IP] * self.N)
        self.prefixes = [list(p) for p in (prefixes or [[]] * self.N)]
        assert len(self.hosts) == self.N and len(self.prefixes) == self.N
        # Ports base_port .. base_port+nports-1 (inside namespaces each has its
        # own port space), or on 127.0.0.1 ports of this process's blocks
        # below the ephemeral range (rosterkit.ports).
        self.ports = (list(range(base_port, base_port + nports)) if base_port
                      else allocate(nports))
        self.procs = [None] * self.N

    def server_dir(self, i):
        d = os.path.join(self.workdir, f"{self.kind}{i}")
        os.makedirs(d, exist_ok=True)
        return d

    def start(self):
        for i in range(self.N):
            self.start_server(i)
        return self

    def restart(self, i):
        if self.procs[i] is not None:
            self.procs[i].kill()
        self.start_server(i)

    def kill(self, i, sig=signal.SIGKILL):
        """Signal server i's process group; reaps it when sig is SIGKILL."""
        if sig == signal.SIGKILL:
            self.procs[i].kill()
        else:
            self.procs[i].signal(sig)

    def alive(self, i):
        return self.procs[i] is not None and self.procs[i].alive()

    def stop(self):
        for p in self.procs:
            if p is not None:
                p.kill()

    def wait_ready(self, timeout=90):
        """Every live server serving and all agreeing on one leader."""
        def ready():
            for i in range(self.N):
                if self.procs[i] is not None and not self.procs[i].alive():
                    raise GiveUp(f"{self.kind} server {i} exited:\n{self.procs[i].log_tail()}")
            return self._ready()
        wait_for(f"{self.kind} cluster ready", ready, timeout, interval=0.2)
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class ZooKeeperEnsemble(_Cluster):
    kind = "zk"

    def __init__(self, workdir, hosts=None, tick_ms=100, prefixes=None, base_port=None,
                 init_limit=100, sync_limit=10, max_session_ms=60000, heap_mb=256):
        # ports: client 0-2, quorum 3-5, election 6-8
        super().__init__(workdir, hosts, prefixes, 9, base_port)
        self.tick_ms = tick_ms
        self.init_limit = init_limit        # 10 s at 100 ms: JVM start + sync on a busy box
        self.sync_limit = sync_limit        # 1 s: how long a follower may lag / be silent
        self.max_session_ms = max_session_ms
        self.heap_mb = heap_mb

    @property
    def min_session_ms(self):
        return 2 * self.tick_ms             # ZooKeeper's smallest legal session

    def endpoint(self, i):
        return f"{self.hosts[i]}:{self.ports[i]}"

    @property
    def endpoints(self):
        return [self.endpoint(i) for i in range(self.N)]

    @property
    def connect_string(self):
        return ",".join(self.endpoints)

    def _config(self, i, data_dir):
        lines = [
            f"tickTime={self.tick_ms}",
            f"initLimit={self.init_limit}",
            f"syncLimit={self.sync_limit}",
            f"minSessionTimeout={self.min_session_ms}",
            f"maxSessionTimeout={self.max_session_ms}",
            f"dataDir={data_dir}",
            f"clientPort={self.ports[i]}",
            f"clientPortAddress={self.hosts[i]}",
            "4lw.commands.whitelist=srvr,mntr,ruok,cons,stat",
            "admin.enableServer=false",       # no Jetty on port 8080
            "preAllocSize=4096",              # KB; default preallocates 64 MB logs
        ]
        for j in range(self.N):
            lines.append(f"server.{j + 1}={self.hosts[j]}:{self.ports[3 + j]}:{self.ports[6 + j]}")
        return "\n".join(lines) + "\n"

    def start_server(self, i):
        d = self.server_dir(i)
        data_dir = os.path.join(d, "data")
        os.makedirs(data_dir, exist_ok=True)
        with open(os.path.join(data_dir, "myid"), "w") as f:
            f.write(f"{i + 1}\n")
        cfg = os.path.join(d, "zoo.cfg")
        with open(cfg, "w") as f:
            f.write(self._config(i, data_dir))
        argv = ["java", f"-Xmx{self.heap_mb}m", "-XX:+UseSerialGC",
                "-Dorg.slf4j.simpleLogger.showDateTime=true",
                "-cp", ZK_CLASSPATH, "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg]
        self.procs[i] = Proc(argv, self.prefixes[i], os.path.join(d, "server.log"))

    def srvr(self, i):
        return four_letter(self.hosts[i], self.ports[i], "srvr", self.prefixes[i])

    def mode(self, i):
        """'leader', 'follower', or None (down / electing)."""
        if not self.alive(i):
            return None
        out = self.srvr(i) or ""
        m = re.search(r"^Mode: (\w+)", out, re.M)
        return m.group(1) if m else None

    def leader(self):
        """Index of the leader, or None if there is not exactly one."""
        modes = [self.mode(i) for i in range(self.N)]
        leaders = [i for i, m in enumerate(modes) if m == "leader"]
        return leaders[0] if len(leaders) == 1 else None

    def _ready(self):
        modes = [self.mode(i) for i in range(self.N) if self.procs[i] is not None]
        return all(m in ("leader", "follower") for m in modes) and modes.count("leader") == 1

    def version(self):
        for i in range(self.N):
            m = re.search(r"Zookeeper version: ([^,\n]+)", self.srvr(i) or "")
            if m:
                return m.group(1).split("-$")[0].strip()   # "3.8.0-${mvngit.commit.id}"
        return None


class EtcdCluster(_Cluster):
    kind = "etcd"

    def __init__(self, workdir, hosts=None, heartbeat_ms=50, election_ms=500, prefixes=None,
                 base_port=None):
        # ports: client 0-2, peer 3-5
        super().__init__(workdir, hosts, prefixes, 6, base_port)
        self.heartbeat_ms = heartbeat_ms
        self.election_ms = election_ms
        self.token = "roster-bench-" + uuid.uuid4().hex[:12]

    def endpoint(self, i):
        return f"{self.hosts[i]}:{self.ports[i]}"

    @property
    def endpoints(self):
        return [self.endpoint(i) for i in range(self.N)]

    def start_server(self, i):
        d = self.server_dir(i)
        peer = lambda j: f"http://{self.hosts[j]}:{self.ports[3 + j]}"
        client = f"http://{self.endpoint(i)}"
        argv = ["etcd", "--name", f"m{i}", "--data-dir", os.path.join(d, "data"),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer(i), "--initial-advertise-peer-urls", peer(i),
                "--initial-cluster", ",".join(f"m{j}={peer(j)}" for j in range(self.N)),
                "--initial-cluster-state", "new",      # ignored once data-dir exists
                "--initial-cluster-token", self.token,
                "--heartbeat-interval", str(self.heartbeat_ms),
                "--election-timeout", str(self.election_ms),
                "--logger", "zap", "--log-outputs", "stderr"]
        self.procs[i] = Proc(argv, self.prefixes[i], os.path.join(d, "server.log"))

    def etcdctl(self, i, *args, timeout=5.0):
        """Run etcdctl against member i (through its prefix); (rc, stdout)."""
        return run_in(self.prefixes[i], ["env", "ETCDCTL_API=3", "etcdctl",
                                         f"--endpoints={self.endpoint(i)}",
                                         "--dial-timeout=1s", "--command-timeout=2s", *args],
                      timeout)

    def status(self, i):
        """(member_id, leader_id) as member i sees it, or None."""
        if not self.alive(i):
            return None
        rc, out = self.etcdctl(i, "endpoint", "status", "-w", "json")
        if rc != 0:
            return None
        try:
            st = json.loads(out)[0]["Status"]
            return st["header"]["member_id"], st["leader"]
        except (ValueError, KeyError, IndexError):
            return None

    def leader(self):
        """Index of the leader all live members agree on, or None."""
        sts = {i: self.status(i) for i in range(self.N) if self.alive(i)}
        if not sts or any(s is None for s in sts.values()):
            return None
        leaders = {s[1] for s in sts.values()}
        if len(leaders) != 1:
            return None
        lid = leaders.pop()
        return next((i for i, s in sts.items() if s[0] == lid), None)

    def _ready(self):
        return all(self.procs[i] is None or self.alive(i) for i in range(self.N)) \
            and self.leader() is not None

    def granted_ttl(self, requested_s, i=0):
        """Grant a lease asking for `requested_s` seconds and return the TTL
        etcd actually granted (it raises too-small TTLs to its minimum)."""
        rc, out = self.etcdctl(i, "lease", "grant", str(requested_s))
        m = re.search(r"lease (\w+) granted with TTL\((\d+)s\)", out)
        if rc != 0 or not m:
            raise RuntimeError(f"etcdctl lease grant failed: rc={rc} {out!r}")
        self.etcdctl(i, "lease", "revoke", m.group(1))
        return int(m.group(2))


def make_cluster(system, workdir, setting, hosts=None, prefixes=None, base_port=None):
    """A cluster for one of the settings dicts used by detection()."""
    if system == "zookeeper":
        return ZooKeeperEnsemble(workdir, hosts, setting.get("tick_ms", 100), prefixes, base_port)
    if system == "etcd":
        return EtcdCluster(workdir, hosts, setting.get("heartbeat_ms", 50),
                           setting.get("election_ms", 500), prefixes, base_port)
    raise ValueError(f"unknown system {system!r}")


# ---------------------------------------------------------------- clients

def kazoo_client(hosts, timeout_s, **kw):
    """A KazooClient that pings like the Java client.  kazoo adds a random
    0-400 ms jitter to its ping interval (session/3), which would let
    sessions shorter than ~0.5 s expire on a healthy client; we drop it."""
    import kazoo.protocol.connection as kconn
    from kazoo.client import KazooClient

    class _NoJitter(random.Random):
        def randint(self, a, b):
            return a
    kconn.random = _NoJitter()
    return KazooClient(hosts=hosts, timeout=timeout_s, **kw)


def _parse_watch_line(line):
    """'<monotonic> <json list>' -> (t, frozenset(names)); other lines dropped."""
    ts, _, rest = line.partition(" ")
    try:
        return float(ts), frozenset(json.loads(rest))
    except ValueError:
        return None


def _script(system, role):
    return os.path.join(HERE, f"{'zk' if system == 'zookeeper' else 'etcd'}_{role}.py")


def _log(log_dir, name):
    if not log_dir:
        return None
    os.makedirs(log_dir, exist_ok=True)
    return os.path.join(log_dir, f"{name}.log")


class Member(Proc):
    """Holds /roster-bench/members/<name>: an ephemeral znode with a
    `timeout_ms` session (ZooKeeper) or a key under a timeout_ms/1000 s lease
    kept alive every TTL/3 (etcd).  endpoints: "ip:port" strings, the first
    is tried first.  Prints 'ready' once registered, 'lost' (then exits) if
    its session / lease expires while it runs."""

    def __init__(self, system, endpoints, name, timeout_ms, prefix=None, log_dir=None):
        self.name = name
        if system == "zookeeper":
            args = ["--servers", ",".join(endpoints), "--timeout-ms", str(timeout_ms)]
        else:
            if timeout_ms % 1000:
                raise ValueError("etcd lease TTLs are whole seconds")
            args = ["--endpoints", ",".join(endpoints), "--ttl", str(timeout_ms // 1000)]
        super().__init__([PY, _script(system, "member"), "--name", name] + args,
                         prefix, _log(log_dir, f"member-{name}"), capture=True)

    def wait_ready(self, timeout=30):
        return self.wait_output(lambda ls: any(l.startswith("ready") for l in ls), timeout,
                                f"member {self.name} ready")

    def lost(self):
        return "lost" in self.snapshot()


class Watcher(Proc):
    """Watches the member set through one server and prints one
    '<monotonic> <json list>' line per change (the first is the initial set)."""

    def __init__(self, system, endpoint, prefix=None, log_dir=None, name="watcher",
                 session_ms=10000):
        self.name = name
        args = (["--servers", endpoint, "--session-ms", str(session_ms)]
                if system == "zookeeper" else ["--endpoint", endpoint])
        super().__init__([PY, _script(system, "watcher")] + args, prefix,
                         _log(log_dir, name), capture=True, parse=_parse_watch_line)

    def latest(self):
        last = self.last()
        return last[1] if last else None

    def wait_set(self, expected, timeout):
        expected = frozenset(expected)
        return self.wait_output(lambda ls: ls and ls[-1][1] == expected, timeout,
                                f"{self.name} to see {sorted(expected)}")

    def wait_gone(self, name, since, timeout):
        """Timestamp of the first line at/after `since` without `name`."""
        def first(ls):
            return next((t for t, s in lines_since(ls, since) if name not in s), None)
        return self.wait_output(first, timeout, f"{self.name} to drop {name}")


def lines_since(lines, since):
    """lines (t, ...) with t >= since, in order (lines are time-ordered)."""
    i = len(lines)
    while i > 0 and lines[i - 1][0] >= since:
        i -= 1
    return lines[i:]


def _parse_write_line(line):
    """'ok|err <start> <end> ...' -> (ok, start, end)."""
    parts = line.split()
    if len(parts) >= 3 and parts[0] in ("ok", "err"):
        return parts[0] == "ok", float(parts[1]), float(parts[2])
    return (None, 0.0, 0.0) if line == "ready" else None


class Writer(Proc):
    """Starts a write to /roster-bench/failover every interval_ms, without
    waiting for earlier ones (so a stalled write does not hide recovery), and
    prints 'ok|err <start> <end>' per write.  Fast reconnect/failover across
    all endpoints: see zk_writer.py / etcd_writer.py."""

    def __init__(self, system, endpoints, prefix=None, log_dir=None, interval_ms=10):
        args = (["--servers" if system == "zookeeper" else "--endpoints", ",".join(endpoints),
                 "--interval-ms", str(interval_ms)])
        super().__init__([PY, _script(system, "writer")] + args, prefix,
                         _log(log_dir, "writer"), capture=True, parse=_parse_write_line)

    def wait_ready(self, timeout=30):
        return self.wait_output(lambda ls: any(l[0] is None for l in ls), timeout, "writer ready")

    def first_ok_after(self, since, timeout):
        """End time of the first successful write that started at/after since."""
        return self.wait_output(
            lambda ls: next((e for ok, s, e in ls[-20000:] if ok and s >= since), None),
            timeout, "a successful write")


# ---------------------------------------------------------------- measurements

def wait_leader(cluster, timeout=60):
    """The leader's index, polling until there is exactly one."""
    return wait_for(f"{cluster.kind} leader", lambda: (lambda i: None if i is None else [i])(cluster.leader()),
                    timeout, interval=0.1)[0]


def random_phase(rng, span_s=1.0):
    """Pause a random 0..span_s before a kill.  Servers act on periodic
    timers (etcd checks for expired leases every 500 ms; ZooKeeper expires
    sessions in tickTime buckets), and without this each kill would follow
    the previous detection -- itself aligned to those timers -- by a nearly
    constant delay, biasing every sample the same way.  1 s is a multiple of
    both periods, so the kill's phase becomes uniform."""
    time.sleep(rng.uniform(0.0, span_s))


def setting_label(system, s):
    if system == "zookeeper":
        return f"tick={s['tick_ms']}ms session={s['timeout_ms']}ms"
    return f"hb={s['heartbeat_ms']}ms election={s['election_ms']}ms ttl={s['timeout_ms'] // 1000}s"


def detection(system, setting, kills, mode="kill", workdir=None, cluster=None,
              n_members=5, n_watchers=3, member_prefix=None, watcher_prefixes=None,
              rng=None, log=print):
    """Kill (SIGKILL, mode 'kill') or freeze (SIGSTOP, mode 'stop') one member
    `kills` times; return a list of dicts {latency_ms: max over watchers,
    first_ms: min over watchers, per_watcher_ms}.  setting: {"timeout_ms":
    session/TTL in ms, plus tick_ms (ZooKeeper) or heartbeat_ms/election_ms
    (etcd)}.  Uses `cluster` if given (left running), else starts one in
    workdir and stops it.  Watcher i connects to server i % 3.  rng: a
    random.Random for the pre-kill pauses (see random_phase)."""
    rng = rng or random.Random()
    sig = {"kill": signal.SIGKILL, "stop": signal.SIGSTOP}[mode]
    own = cluster is None
    if own:
        cluster = make_cluster(system, workdir, setting).start().wait_ready()
    logs = os.path.join(cluster.workdir, "clients", f"{setting['timeout_ms']}-{mode}")
    eps = cluster.endpoints
    tag = uuid.uuid4().hex[:6]       # names unique across runs on one cluster
    counter = iter(range(10**9))
    members, watchers, results, spurious = [], [], [], 0
    timeout_s = setting["timeout_ms"] / 1000.0

    def new_member():
        k = next(counter)
        # Spread members over the servers; the others are fallbacks.
        order = eps[k % len(eps):] + eps[:k % len(eps)]
        m = Member(system, order, f"{tag}-{k}", setting["timeout_ms"], member_prefix, logs)
        m.wait_ready()
        members.append(m)

    def settle():
        # Replace members that lost their session on their own (a false
        # positive of the system itself), then wait for all watchers to agree.
        nonlocal spurious
        for m in [m for m in members if not m.alive() or m.lost()]:
            log(f"  warning: member {m.name} lost its session/lease on its own")
            spurious += 1
            m.kill()
            members.remove(m)
            new_member()
        expected = {m.name for m in members}
        for w in watchers:
            w.wait_set(expected, timeout_s + 30)

    try:
        for _ in range(n_members):
            new_member()
        for i in range(n_watchers):
            w = Watcher(system, eps[i % len(eps)],
                        (watcher_prefixes or [None] * n_watchers)[i], logs, f"watcher{i}")
            watchers.append(w)
        for trial in range(kills):
            settle()
            victim = members.pop(0)            # the oldest: random keep-alive phase
            random_phase(rng)
            t0 = time.monotonic()
            victim.signal(sig)
            seen = [w.wait_gone(victim.name, t0, timeout_s + 30) for w in watchers]
            per = [(t - t0) * 1000.0 for t in seen]
            results.append({"latency_ms": max(per), "first_ms": min(per), "per_watcher_ms": per})
            log(f"  {system} {setting_label(system, setting)} {mode} #{trial + 1}: "
                f"{max(per):.0f} ms (first watcher {min(per):.0f} ms)")
            victim.kill()
            new_member()
        return results, spurious
    finally:
        for w in watchers:
            w.kill()
        for m in members:
            m.terminate()                      # graceful: their nodes go at once
        if own:
            cluster.stop()


def leader_failover(system, setting, trials, workdir=None, cluster=None, writer_prefix=None,
                    interval_ms=10, rng=None, log=print):
    """SIGKILL the leader `trials` times; each time return the ms from the
    kill to the end of the first successful write started after it; then
    restart the killed server and wait until the cluster is healthy."""
    rng = rng or random.Random()
    own = cluster is None
    if own:
        cluster = make_cluster(system, workdir, setting).start().wait_ready()
    writer, out = None, []
    try:
        writer = Writer(system, cluster.endpoints, writer_prefix,
                        os.path.join(cluster.workdir, "clients"), interval_ms)
        writer.wait_ready()
        for trial in range(trials):
            leader = wait_leader(cluster)
            # steady state: the writer is succeeding right now
            writer.first_ok_after(time.monotonic(), 30)
            writer.trim(100)
            random_phase(rng)
            t0 = time.monotonic()
            cluster.kill(leader)
            end = writer.first_ok_after(t0, 60)
            out.append((end - t0) * 1000.0)
            log(f"  {system} leader failover #{trial + 1}: killed server {leader}, "
                f"write ok after {out[-1]:.0f} ms")
            cluster.restart(leader)
            cluster.wait_ready()
        return out
    finally:
        if writer:
            writer.kill()
        if own:
            cluster.stop()

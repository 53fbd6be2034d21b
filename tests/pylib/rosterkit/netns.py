"""Hosts in their own network namespaces, joined by veth pairs to a hub: the network of
bench/false_positives (impaired links) and of tests/chaos (links cut and made lossy at run time).

Layout (every name starts with the caller's PREFIX, so leftovers of a killed run are easy to find):

    PREFIXhub               the hub namespace: the hub end of every veth ("p-<host>")
    PREFIX<host>            one namespace per host (v1, v2, v3, m01, ...), with "eth0" (the host
                            end of its veth) at SUBNET.X/24 and "lo"

Nothing is created in the root namespace: veths are created directly inside the namespaces
(`ip -n PREFIXhub link add p-v1 type veth peer name eth0 netns PREFIXv1`), so traffic stays inside
the namespaces of the run.

How the hub joins the hosts ("emulator"):
  bridge     a Linux bridge "br0" in the hub joins the hub ends; no impairment (what tests/chaos
             uses, with nftables rules on the bridge: linkfilter.py);
  netem      the same bridge, and `tc qdisc add dev eth0 root netem delay D J loss L` on the host
             end of each veth (the egress of every host);
  userspace  (for kernels without sch_netem, like the machine this was written on) netem_bridge.py
             runs in the hub namespace and bridges the hub ends itself, impairing every frame a host
             sends in the same way (delay + uniform jitter, independent loss, reordering allowed).
With netem or userspace, every one-way path A -> B is impaired exactly once, at A's egress: a
profile of "20 ms +- 10 ms, 2 % loss" means a one-way delay of 10-30 ms (RTT ~40 ms) and 2 % of
the packets of each direction lost.
"""

import fcntl
import json
import os
import signal
import subprocess
import sys

from .paths import PYTHON
from .procs import Proc
from .waiting import WaitTimeout, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, check=True, quiet=False, timeout=30, input=None):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


def take_lock(path, timeout=0.0):
    """The exclusive flock of a harness's lock file, which makes its namespace prefix its own
    (cleanup_leftovers removes every namespace of the prefix): the open file, holding the lock
    until it is closed or this process ends; None if another process still holds it after
    `timeout` seconds (0: one try)."""
    f = open(path, "w")

    def locked():
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
    try:
        wait_for(f"the lock {path}", locked, timeout, 0.2)
        return f
    except WaitTimeout:
        f.close()
        return None


def list_namespaces():
    r = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def netem_available(prefix):
    """True if this kernel has sch_netem (probed on a throwaway namespace's loopback)."""
    ns = prefix + "probe"
    run(["ip", "netns", "add", ns], check=False)
    try:
        r = run(["tc", "-n", ns, "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"], check=False)
        return r.returncode == 0
    finally:
        run(["ip", "netns", "del", ns], check=False)


def _gone(pid):
    """The process has exited (a zombie waiting to be reaped counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True


def kill_namespace_processes(ns, timeout=10.0):
    """kill -9 of every process inside namespace ns (all started by the caller's harness), and
    waits until they are gone. SIGCONT too: a stopped process dies of SIGKILL anyway, but this
    costs nothing."""
    pids = [int(p) for p in run(["ip", "netns", "pids", ns], check=False).stdout.split() if p.isdigit()]
    for pid in pids:
        for sig in (signal.SIGKILL, signal.SIGCONT):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
    try:
        wait_for(f"the processes of {ns} to be gone",
                 lambda: all(_gone(p) for p in pids) and not run(["ip", "netns", "pids", ns], check=False).stdout.split(),
                 timeout)
    except WaitTimeout:
        print(f"warning: processes of {ns} still there after {timeout:.0f} s", file=sys.stderr)
    return pids


def cleanup_leftovers(prefix, log=print):
    """Removes every namespace named PREFIX* (and root-namespace links of that name, in case an
    older layout left some), killing the processes still inside them first: only runs of the
    caller's harness create such names, and the caller holds the harness's lock."""
    found = [ns for ns in list_namespaces() if ns.startswith(prefix)]
    for ns in found:
        kill_namespace_processes(ns)
        run(["ip", "netns", "del", ns], check=False)
    links = run(["ip", "-o", "link", "show"], check=False).stdout
    for line in links.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if name.startswith(prefix):
            run(["ip", "link", "del", name], check=False)
    if found:
        log(f"removed leftover namespaces: {' '.join(found)}")
    return found


REACH = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], 9), timeout=1).close()
except ConnectionRefusedError:
    pass  # a reset from the other host: it is reachable
except OSError:
    sys.exit(1)
"""


def reachable(src, ip):
    """A TCP connection attempt from src's namespace to ip port 9 gets an answer (a reset)."""
    return run(src.prefix + [PYTHON, "-c", REACH, ip], check=False).returncode == 0


class Host:
    def __init__(self, name, ip, prefix):
        self.name, self.ip = name, ip
        self.ns = prefix + name
        self.prefix = ["ip", "netns", "exec", self.ns]  # command prefix to run inside
        self.port = "p-" + name                         # its veth's end in the hub

    def __repr__(self):
        return f"Host({self.name}, {self.ip})"


class Topology:
    """Create with the host names; `up(delay_ms, jitter_ms, loss_pct)` builds it, `down()`
    removes all of it. Host i gets SUBNET.(first_ip + i)."""

    def __init__(self, names, prefix, subnet, emulator="auto", workdir="/tmp", seed=1, log=print, first_ip=10,
                 ips=None):
        self.prefix = prefix
        self.hub = prefix + "hub"
        ips = ips or {n: f"{subnet}.{first_ip + i}" for i, n in enumerate(names)}
        self.hosts = {n: Host(n, ips[n], prefix) for n in names}
        self.emulator = emulator
        self.workdir = workdir
        self.seed = seed
        self.log = log
        self.created = []
        self.bridge_proc = None
        self.bridge_stats = None

    def host(self, name):
        return self.hosts[name]

    def up(self, delay=0.0, jitter=0.0, loss=0.0):
        impaired = bool(delay or jitter or loss)
        if self.emulator == "auto":
            self.emulator = "netem" if netem_available(self.prefix) else "userspace"
        if self.emulator == "bridge" and impaired:
            raise ValueError("the plain bridge impairs nothing: use netem or userspace")
        self._ns(self.hub)
        self._sysctls(self.hub)
        for h in self.hosts.values():
            self._ns(h.ns)
            self._sysctls(h.ns)
            run(["ip", "-n", self.hub, "link", "add", h.port, "type", "veth", "peer", "name", "eth0", "netns", h.ns])
            run(["ip", "-n", h.ns, "addr", "add", f"{h.ip}/24", "dev", "eth0"])
            run(["ip", "-n", h.ns, "link", "set", "lo", "up"])
            run(["ip", "-n", h.ns, "link", "set", "eth0", "up"])
            run(["ip", "-n", self.hub, "link", "set", h.port, "up"])
        if self.emulator in ("netem", "bridge"):
            run(["ip", "-n", self.hub, "link", "add", "br0", "type", "bridge"])
            for h in self.hosts.values():
                run(["ip", "-n", self.hub, "link", "set", h.port, "master", "br0"])
            run(["ip", "-n", self.hub, "link", "set", "br0", "up"])
            if self.emulator == "netem" and impaired:
                for h in self.hosts.values():
                    # On the host end: the host's egress. Netem's default queue (1000 packets) is
                    # far above what these clusters send in one delay.
                    run(["tc", "-n", h.ns, "qdisc", "add", "dev", "eth0", "root", "netem",
                         "delay", f"{delay}ms", f"{jitter}ms", "loss", f"{loss}%"])
        else:
            self._start_userspace_bridge(delay, jitter, loss)
        # Everyone reaches everyone (ARP resolves through the hub, like any packet).
        names = list(self.hosts)
        first = self.hosts[names[0]]
        for h in list(self.hosts.values())[1:]:
            wait_for(f"{first.name} to reach {h.name}", lambda h=h: reachable(first, h.ip), 20, 0.1)
        return self

    def _start_userspace_bridge(self, delay, jitter, loss):
        for h in self.hosts.values():
            # Frames are copied as bytes by the userspace bridge: checksums must be complete and
            # frames no larger than the MTU.
            for ns, dev in ((h.ns, "eth0"), (self.hub, h.port)):
                run(["ip", "netns", "exec", ns, "ethtool", "-K", dev, "tx", "off", "tso", "off",
                     "gso", "off", "gro", "off"], check=False)
                r = run(["ip", "netns", "exec", ns, "ethtool", "-k", dev])
                if "tx-checksumming: off" not in r.stdout:
                    raise RuntimeError(f"could not turn checksum offload off on {ns}/{dev}")
        ready = os.path.join(self.workdir, "netem_bridge.ready")
        self.bridge_stats = os.path.join(self.workdir, "netem_bridge.json")
        for f in (ready, self.bridge_stats):
            if os.path.exists(f):
                os.unlink(f)
        ports = [f"--port={h.port}:{delay}:{jitter}:{loss}" for h in self.hosts.values()]
        # A little priority: the emulator must not be the one that delays heartbeats.
        self.bridge_proc = Proc(
            ["ip", "netns", "exec", self.hub, "nice", "-n", "-10", PYTHON, os.path.join(HERE, "netem_bridge.py"),
             "--seed", str(self.seed), "--stats", self.bridge_stats, "--ready", ready] + ports,
            log_path=os.path.join(self.workdir, "netem_bridge.log"))
        wait_for("the userspace netem bridge", lambda: os.path.exists(ready) or not self.bridge_proc.alive(), 10)
        if not self.bridge_proc.alive():
            raise RuntimeError("netem_bridge.py exited; see netem_bridge.log")

    def _ns(self, ns):
        run(["ip", "netns", "add", ns])
        self.created.append(ns)

    def _sysctls(self, ns):
        # No IPv6 chatter (router solicitations, MLD) on the links.
        run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
             "net.ipv6.conf.default.disable_ipv6=1"], check=False)

    def emulator_stats(self):
        if self.bridge_stats and os.path.exists(self.bridge_stats):
            with open(self.bridge_stats) as f:
                return json.load(f)
        return None

    def down(self):
        """Stops the emulator, kills what still runs inside the namespaces, deletes them."""
        if self.bridge_proc is not None:
            self.bridge_proc.terminate(grace=10)  # SIGTERM: it writes its stats, then exits
        for ns in reversed(self.created):
            kill_namespace_processes(ns)
            run(["ip", "netns", "del", ns], check=False)
        self.created = []

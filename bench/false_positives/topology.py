"""Hosts in their own network namespaces, joined by veth pairs to a hub, with impaired links.

Layout (every name starts with PREFIX, so leftovers of a killed run are easy to find):

    rfp-hub                 the hub namespace: the hub end of every veth ("p-<host>")
    rfp-<host>              one namespace per host (v1, v2, v3, m01, ...), with "eth0" (the host
                            end of its veth) at 10.213.0.X/24 and "lo"

Nothing is created in the root namespace: veths are created directly inside the namespaces
(`ip -n rfp-hub link add p-v1 type veth peer name eth0 netns rfp-v1`), so traffic stays inside
the namespaces of the run.

Impairment ("emulator"):
  netem      a Linux bridge "br0" in the hub joins the hub ends; `tc qdisc add dev eth0 root netem
             delay D J loss L` on the host end of each veth (the egress of every host);
  userspace  (for kernels without sch_netem, like the machine this was written on) netem_bridge.py
             runs in the hub namespace and bridges the hub ends itself, impairing every frame a host
             sends in the same way (delay + uniform jitter, independent loss, reordering allowed).
Either way, every one-way path A -> B is impaired exactly once, at A's egress: a profile of
"20 ms +- 10 ms, 2 % loss" means a one-way delay of 10-30 ms (RTT ~40 ms) and 2 % of the
packets of each direction lost.
"""

import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "pylib"))
from rosterkit.paths import PYTHON  # noqa: E402
from rosterkit.procs import Proc  # noqa: E402
from rosterkit.waiting import wait_for  # noqa: E402

PREFIX = "rfp-"
HUB = PREFIX + "hub"
SUBNET = "10.213.0"
HERE = os.path.dirname(os.path.abspath(__file__))

PROFILES = {
    # name: (delay ms, jitter ms, loss %)
    "20ms": (20.0, 10.0, 2.0),
    "50ms": (50.0, 40.0, 5.0),
    "none": (0.0, 0.0, 0.0),
}


def run(cmd, check=True, quiet=False, timeout=30):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


def list_namespaces():
    r = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def netem_available():
    """True if this kernel has sch_netem (probed on a throwaway namespace's loopback)."""
    ns = PREFIX + "probe"
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
    """kill -9 of every process inside namespace ns (all started by this benchmark), and waits
    until they are gone."""
    pids = [int(p) for p in run(["ip", "netns", "pids", ns], check=False).stdout.split() if p.isdigit()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(_gone(p) for p in pids) and not run(["ip", "netns", "pids", ns], check=False).stdout.split():
            return pids
        time.sleep(0.05)
    print(f"warning: processes of {ns} still there after {timeout:.0f} s", file=sys.stderr)
    return pids


def cleanup_leftovers(log=print):
    """Removes every namespace named PREFIX* (and root-namespace links of that name, in case an
    older layout left some), killing the processes still inside them first: only runs of this
    benchmark create such names, and the caller holds the benchmark's lock."""
    found = [ns for ns in list_namespaces() if ns.startswith(PREFIX)]
    for ns in found:
        kill_namespace_processes(ns)
        run(["ip", "netns", "del", ns], check=False)
    links = run(["ip", "-o", "link", "show"], check=False).stdout
    for line in links.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if name.startswith(PREFIX):
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
    def __init__(self, name, ip):
        self.name, self.ip = name, ip
        self.ns = PREFIX + name
        self.prefix = ["ip", "netns", "exec", self.ns]  # command prefix to run inside

    def __repr__(self):
        return f"Host({self.name}, {self.ip})"


class Topology:
    """Create with the host names; `up(profile)` builds it, `down()` removes all of it."""

    def __init__(self, names, emulator="auto", workdir="/tmp", seed=1, log=print):
        self.hosts = {n: Host(n, f"{SUBNET}.{10 + i}") for i, n in enumerate(names)}
        self.emulator = emulator
        self.workdir = workdir
        self.seed = seed
        self.log = log
        self.created = []
        self.bridge_proc = None
        self.bridge_stats = None

    def host(self, name):
        return self.hosts[name]

    def up(self, profile):
        delay, jitter, loss = PROFILES[profile]
        if self.emulator == "auto":
            self.emulator = "netem" if netem_available() else "userspace"
        self._ns(HUB)
        self._sysctls(HUB)
        for h in self.hosts.values():
            self._ns(h.ns)
            self._sysctls(h.ns)
            port = "p-" + h.name
            run(["ip", "-n", HUB, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", h.ns])
            run(["ip", "-n", h.ns, "addr", "add", f"{h.ip}/24", "dev", "eth0"])
            run(["ip", "-n", h.ns, "link", "set", "lo", "up"])
            run(["ip", "-n", h.ns, "link", "set", "eth0", "up"])
            run(["ip", "-n", HUB, "link", "set", port, "up"])
        if self.emulator == "netem":
            run(["ip", "-n", HUB, "link", "add", "br0", "type", "bridge"])
            for h in self.hosts.values():
                run(["ip", "-n", HUB, "link", "set", "p-" + h.name, "master", "br0"])
            run(["ip", "-n", HUB, "link", "set", "br0", "up"])
            if delay or jitter or loss:
                for h in self.hosts.values():
                    # On the host end: the host's egress. Netem's default queue (1000 packets) is
                    # far above what these clusters send in one delay.
                    cmd = ["tc", "-n", h.ns, "qdisc", "add", "dev", "eth0", "root", "netem",
                           "delay", f"{delay}ms", f"{jitter}ms", "loss", f"{loss}%"]
                    run(cmd)
        else:
            for h in self.hosts.values():
                # Frames are copied as bytes by the userspace bridge: checksums must be complete and
                # frames no larger than the MTU.
                for ns, dev in ((h.ns, "eth0"), (HUB, "p-" + h.name)):
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
            ports = [f"--port=p-{h.name}:{delay}:{jitter}:{loss}" for h in self.hosts.values()]
            # A little priority: the emulator must not be the one that delays heartbeats.
            self.bridge_proc = Proc(
                ["ip", "netns", "exec", HUB, "nice", "-n", "-10", PYTHON, os.path.join(HERE, "netem_bridge.py"),
                 "--seed", str(self.seed), "--stats", self.bridge_stats, "--ready", ready] + ports,
                log_path=os.path.join(self.workdir, "netem_bridge.log"))
            wait_for("the userspace netem bridge", lambda: os.path.exists(ready) or not self.bridge_proc.alive(), 10)
            if not self.bridge_proc.alive():
                raise RuntimeError("netem_bridge.py exited; see netem_bridge.log")
        # Everyone reaches everyone (ARP resolves through the impaired hub, like any packet).
        names = list(self.hosts)
        first = self.hosts[names[0]]
        for h in list(self.hosts.values())[1:]:
            wait_for(f"{first.name} to reach {h.name}", lambda h=h: reachable(first, h.ip), 20, 0.1)
        return self

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

"""This benchmark's network: hosts in network namespaces named rfp-*, joined by veth pairs to a hub,
with impaired links. The namespaces, veths, bridge, netem and the userspace netem stand-in are
rosterkit's (tests/pylib/rosterkit/netns.py, netem_bridge.py, shared with tests/chaos); here are
the benchmark's prefix, subnet and network profiles.

    rfp-hub                 the hub namespace: the hub end of every veth ("p-<host>")
    rfp-<host>              one namespace per host (v1, v2, v3, m01, ...), with "eth0" (the host
                            end of its veth) at 10.213.0.X/24 and "lo"

Every one-way path A -> B is impaired exactly once, at A's egress: a profile of "20 ms +- 10 ms,
2 % loss" means a one-way delay of 10-30 ms (RTT ~40 ms) and 2 % of the packets of each direction
lost (netem on the host end of each veth, or netem_bridge.py where the kernel has no sch_netem).
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "pylib"))
from rosterkit import netns  # noqa: E402

PREFIX = "rfp-"
SUBNET = "10.213.0"

PROFILES = {
    # name: (delay ms, jitter ms, loss %)
    "20ms": (20.0, 10.0, 2.0),
    "50ms": (50.0, 40.0, 5.0),
    "none": (0.0, 0.0, 0.0),
}


def netem_available():
    """True if this kernel has sch_netem."""
    return netns.netem_available(PREFIX)


def cleanup_leftovers(log=print):
    """Removes every rfp-* namespace and the processes inside (the caller holds the lock)."""
    return netns.cleanup_leftovers(PREFIX, log)


class Topology(netns.Topology):
    """Create with the host names; `up(profile)` builds it, `down()` removes all of it."""

    def __init__(self, names, emulator="auto", workdir="/tmp", seed=1, log=print):
        super().__init__(names, PREFIX, SUBNET, emulator=emulator, workdir=workdir, seed=seed, log=log)

    def up(self, profile):
        return super().up(*PROFILES[profile])

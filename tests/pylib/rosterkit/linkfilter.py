"""Links cut and made lossy at run time, between hosts of a netns.Topology with a Linux bridge in
its hub (emulator "bridge" or "netem"): nftables rules on the bridge's forward hook, in the hub
namespace (`nft` from the Debian package nftables; the kernel needs nf_tables with the bridge
family and numgen).

    f = LinkFilter(topology)
    f.apply(cut=[("m2", "v1"), ("v1", "m2")], loss={"m4": 80})   # the whole rule set, at once
    f.apply()                                                     # everything heals

`cut` lists directed pairs (from, to): IPv4 frames from `from`'s port to `to`'s port are dropped,
so A -> B can be cut while B -> A still flows (a one-way link). `loss` maps a host to a
percentage: that share of the IPv4 frames it sends and of those it receives is dropped, each frame
drawn independently (`numgen random mod 100 < N`).

Why nftables on the bridge, and not netem or the userspace bridge: each apply() is one nft
transaction (the old rules go and the new ones come in one step, no moment with half a
partition); the frames never leave the kernel (no CPU for a userspace copy, no scheduling delay
on the path when the machine is busy, which a Python bridge adds exactly when the chaos starves
the CPU); a frame is dropped in the network, between the hosts, so both ends see what a real
partition looks like (no EPERM on send, as an OUTPUT rule in the sender's namespace would give);
and counters say how many frames each rule dropped. Only IPv4 is filtered: ARP passes, so a
one-way cut stays one-way (if B's ARP requests to A were answered into a cut, B could not even
send to A).
"""

import json

from .netns import run

TABLE = "links"


class LinkFilter:
    def __init__(self, topology):
        self.hub = topology.hub
        self.port = {name: h.port for name, h in topology.hosts.items()}
        self.cut, self.loss = [], {}
        run(["ip", "netns", "exec", self.hub, "nft", "-f", "-"], input=self._ruleset([], {}))

    def _ruleset(self, cut, loss):
        lines = [f"table bridge {TABLE}", f"delete table bridge {TABLE}", f"table bridge {TABLE} {{",
                 "  chain forward {", "    type filter hook forward priority 0; policy accept;"]
        for a, b in cut:
            lines.append(f'    meta protocol ip iifname "{self.port[a]}" oifname "{self.port[b]}" counter drop '
                         f'comment "cut {a} {b}"')
        for n, pct in sorted(loss.items()):
            if not 0 < pct <= 100:
                raise ValueError(f"loss of {pct} % on {n}")
            for hook in ("iifname", "oifname"):
                lines.append(f'    meta protocol ip {hook} "{self.port[n]}" numgen random mod 100 < {int(pct)} '
                             f'counter drop comment "loss {n}"')
        lines += ["  }", "}", ""]
        return "\n".join(lines)

    def apply(self, cut=(), loss=None):
        """Replaces every rule: these directed pairs cut, these hosts lossy (one transaction)."""
        cut = [tuple(p) for p in cut]
        loss = dict(loss or {})
        for a, b in cut:
            if a not in self.port or b not in self.port or a == b:
                raise ValueError(f"cannot cut {a} -> {b}")
        run(["ip", "netns", "exec", self.hub, "nft", "-f", "-"], input=self._ruleset(cut, loss))
        self.cut, self.loss = cut, loss

    def clear(self):
        self.apply()

    def dropped(self):
        """Frames dropped so far by each rule in force: {"cut A B": n, "loss A": n}."""
        r = run(["ip", "netns", "exec", self.hub, "nft", "-j", "list", "table", "bridge", TABLE], check=False)
        out = {}
        if r.returncode != 0:
            return out
        for item in json.loads(r.stdout).get("nftables", []):
            rule = item.get("rule")
            if not rule:
                continue
            packets = sum(e["counter"]["packets"] for e in rule.get("expr", []) if "counter" in e)
            key = rule.get("comment", "?")
            out[key] = out.get(key, 0) + packets
        return out

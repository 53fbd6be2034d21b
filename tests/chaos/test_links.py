"""rosterkit's LinkFilter on a real topology (three namespaces on a bridge, root needed): a cut is
one-way, loss drops about that share, the counters see the drops, and clearing heals. UDP
datagrams are counted at the receiver, so each direction is checked on its own."""

import json
import os
import sys
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pylib"))
from rosterkit import netns  # noqa: E402
from rosterkit.linkfilter import LinkFilter  # noqa: E402
from rosterkit.paths import PYTHON  # noqa: E402
from rosterkit.procs import Proc  # noqa: E402

PREFIX = "rch-"          # the chaos harness's names, under its lock
LOCK = "/tmp/rch-chaos.lock"
PORT = 9999

RECEIVE = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
print("ready", flush=True)
while True:
    data = s.recv(100)
    print(data.decode(), flush=True)
"""

SEND = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[3])):
    s.sendto(f"{sys.argv[4]} {i}".encode(), (sys.argv[1], int(sys.argv[2])))
    time.sleep(0.0005)
"""


@unittest.skipUnless(os.geteuid() == 0, "needs root (network namespaces)")
class Links(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lock = netns.take_lock(LOCK, timeout=60)
        if cls.lock is None:
            raise AssertionError(f"another chaos run held {LOCK} for 60 s")
        netns.cleanup_leftovers(PREFIX, log=lambda text: None)
        cls.topo = netns.Topology(["la", "lb", "lc"], PREFIX, "10.214.9", emulator="bridge", log=lambda t: None)
        try:
            cls.topo.up()
            cls.links = LinkFilter(cls.topo)
            cls.receivers = {n: cls._receiver(n) for n in ("la", "lb")}
        except BaseException:
            cls.topo.down()
            raise

    @classmethod
    def _receiver(cls, name):
        h = cls.topo.host(name)
        p = Proc([PYTHON, "-c", RECEIVE, h.ip, str(PORT)], prefix=h.prefix, capture=True)
        p.wait_output(lambda lines: "ready" in lines, 10, f"the receiver on {name}")
        return p

    @classmethod
    def tearDownClass(cls):
        cls.topo.down()
        cls.lock.close()

    def send(self, src, dst, n):
        """n datagrams src -> dst; how many arrived (once the last one sent had time to)."""
        tag = f"{src}-{dst}-{os.urandom(4).hex()}"
        h, to = self.topo.host(src), self.topo.host(dst)
        netns.run(h.prefix + [PYTHON, "-c", SEND, to.ip, str(PORT), str(n), tag])
        marker = f"{tag}-end"
        # A last datagram without any rule in its way says the earlier ones had their chance.
        # (Replacing the rules resets their counters: read them first.)
        self.last_dropped = self.links.dropped()
        saved = (self.links.cut, self.links.loss)
        self.links.apply()
        netns.run(h.prefix + [PYTHON, "-c", SEND, to.ip, str(PORT), "1", marker])
        r = self.receivers[dst]
        r.wait_output(lambda lines: any(line.startswith(marker) for line in lines), 10, f"{marker} at {dst}")
        self.links.apply(*saved)
        return sum(1 for line in r.snapshot() if line.startswith(tag + " "))

    def test_no_rule_lets_everything_through(self):
        self.links.apply()
        self.assertEqual(self.send("la", "lb", 50), 50)
        self.assertEqual(self.send("lb", "la", 50), 50)

    def test_a_cut_is_one_way_and_counted(self):
        self.links.apply(cut=[("la", "lb")])
        self.assertEqual(self.send("la", "lb", 30), 0)
        self.assertGreaterEqual(self.last_dropped.get("cut la lb", 0), 30)
        self.assertEqual(self.send("lb", "la", 30), 30)
        self.assertEqual(self.send("lc", "lb", 30), 30, "only that pair is cut")
        self.links.clear()
        self.assertEqual(self.send("la", "lb", 30), 30, "healed")

    def test_loss_drops_about_that_share_both_ways(self):
        self.links.apply(loss={"la": 80})
        # 500 draws at 20 % kept: mean 100, standard deviation 9; 55..145 is five of them.
        for src, dst in (("la", "lb"), ("lc", "la")):
            got = self.send(src, dst, 500)
            self.assertTrue(55 <= got <= 145, f"{got} of 500 {src} -> {dst} arrived")
        self.assertEqual(self.send("lc", "lb", 100), 100, "others are not lossy")
        self.links.clear()

    def test_the_rules_are_replaced_at_once(self):
        self.links.apply(cut=[("la", "lb"), ("lb", "la")], loss={"lc": 50})
        self.links.apply(cut=[("lc", "la")])
        out = netns.run(["ip", "netns", "exec", self.topo.hub, "nft", "-j", "list", "table", "bridge", "links"])
        comments = [item["rule"].get("comment") for item in json.loads(out.stdout)["nftables"] if "rule" in item]
        self.assertEqual(comments, ["cut lc la"])
        self.links.clear()


if __name__ == "__main__":
    unittest.main()

"""Rules of docs/protocol.md, on a real rosterd (issue 15, point 7).

Framing: a roster message is one frame; at a node's ROUTER it is [routing id, envelope]. A
REQ socket's empty delimiter, or a two-part message from a DEALER, is dropped and counted as
`bad_framing`, and gets no reply; the same request as one frame is answered.

Run by ctest (label `integration`); alone:
    ROSTER_BIN=build/bin ROSTER_PYTHON=build/python /usr/bin/python3 -m unittest -v tests/integration/test_protocol.py
"""

import os
import sys
import unittest

import zmq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from rosterkit import wire  # noqa: E402
from rosterkit.cluster import cluster_for  # noqa: E402
from rosterkit.link import Link  # noqa: E402
from rosterkit.metrics import scrape, total  # noqa: E402
from rosterkit.waiting import holds_for, wait_for  # noqa: E402


def bad_framing(node):
    return total(scrape(node.metrics), "roster_messages_dropped_total", 'reason="bad_framing"') or 0


class Framing(unittest.TestCase):
    def setUp(self):
        self.c = cluster_for(self, voters=1)
        self.c.start_voters()
        self.v1 = self.c.voter_nodes[0]
        wait_for("v1 in its own view", lambda: "v1" in self.c.names_in_view(self.v1))

    def test_one_frame_is_answered_and_other_framings_are_dropped_as_bad_framing(self):
        status = wire.status_request(self.c.cluster, 7)
        with Link(self.v1.listen) as dealer:
            self.assertEqual(dealer.request(status, "StatusReply", 7)["name"], "v1")
        before = bad_framing(self.v1)

        # A REQ socket sends [empty delimiter, envelope]: the ROUTER sees three frames.
        req = zmq.Context.instance().socket(zmq.REQ)
        req.setsockopt(zmq.LINGER, 0)
        self.addCleanup(req.close)
        req.connect(f"tcp://{self.v1.listen}")
        req.send(status)
        wait_for("the REQ message counted as bad_framing", lambda: bad_framing(self.v1) >= before + 1)
        # A DEALER's two-part message: three frames again.
        with Link(self.v1.listen) as dealer:
            dealer.sock.send_multipart([b"", status])
            wait_for("the two-part message counted as bad_framing", lambda: bad_framing(self.v1) >= before + 2)
            # Neither is answered (the REQ socket, whose reply would come back, hears nothing).
            holds_for("no reply to a badly framed request", lambda: not req.poll(0) and not dealer.receive(), 1.0)
            self.assertEqual(dealer.request(status, "StatusReply", 7)["name"], "v1")


if __name__ == "__main__":
    unittest.main()

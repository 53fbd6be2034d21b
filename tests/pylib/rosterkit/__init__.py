"""rosterkit: the one Python kit of roster's tests and benchmarks.

Every integration, monitoring and example test and every benchmark driver imports its helpers
from here, so that there is one definition of each:

    paths     where the repository and the built binaries are (ROSTER_BIN)
    waiting   wait_for: poll a predicate until a deadline; the error names what was awaited;
              holds_for: what must not happen, checked at every poll of a window
    stats     one percentile definition (nearest rank) and one summary of a list of samples
    procs     Proc: a child in its own process group, with a log file or captured stdout lines,
              and a registry that kills whatever is still running (cleanup, addCleanup, atexit)
    ports     TCP ports for loopback clusters that concurrently running tests cannot collide on
    machine   a description of the machine a benchmark ran on
    report    markdown tables, JSON results and the command line, for the benchmark drivers
    metrics   reading a rosterd's Prometheus /metrics
    cluster   Cluster, Node, Watcher: real rosterd processes on loopback or each on a netns host,
              plaintext or secured
    keys      CurveZMQ key files (pyzmq's or `rosterctl keygen`'s) and the --authorized-keys file of
              a secured cluster
    netns     hosts in network namespaces joined by veths to a hub (a bridge, netem, or the
              userspace netem_bridge.py): bench/false_positives and tests/chaos
    linkfilter  links of such a topology cut (per directed pair) and made lossy (per host) at run
              time: nftables rules on the hub's bridge
    wire      roster's envelopes built and read in Python (the flatc-generated code in build/python)
    link      one ZeroMQ connection with given credentials, and how its handshake went
    attacks   the attacks of issue 13 as bytes, and an Observer of what they changed

Use it after putting tests/pylib on sys.path:

    sys.path.insert(0, os.path.join(ROOT, "tests", "pylib"))
    from rosterkit.cluster import Cluster
    from rosterkit.waiting import wait_for

Tests of the kit itself: tests/pylib/test_rosterkit.py.
"""

"""What the harness records while the chaos runs (the files of /work/notes/chaos_contract.md):

    Jsonl          one JSON object a line, appended and flushed at once (a killed run keeps what
                   it wrote), safe from several threads
    Recorder       what the two below share: a process next to a node, said and started again
                   when it exits
    Observer       one subscriber process next to one node -- `rosterctl watch --json` ("ctl"),
                   examples/watch_views --json ("lib", the C++ client library), or
                   examples/python/subscriber.py ("py", the wire protocol in Python) -- whose every
                   line goes to history/<observer>.jsonl; restarted when it exits, each start a new
                   session line
    StatusPoller   status_poller.py next to one voter; its lines go to leaders.jsonl

Every recorder process runs at nice 10 (rosterd at 0): the harness must not be what starves the
daemons.
"""

import json
import os
import threading
import time

from rosterkit.paths import PYTHON, binary
from rosterkit.procs import Proc

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
NICE = ["nice", "-n", "10"]


class Jsonl:
    def __init__(self, path):
        self.path = path
        self._f = open(path, "a", buffering=1)
        self._lock = threading.Lock()

    def write(self, obj):
        line = json.dumps(obj, separators=(", ", ": "))
        with self._lock:
            if self._f is not None:
                self._f.write(line + "\n")

    def close(self):
        with self._lock:
            if self._f is not None:
                self._f.close()
                self._f = None


class Recorder:
    """A recording process next to a node (in its namespace, at nice 10), with its stderr in
    err_path; when it exits, check() says so once (with the end of its stderr) and starts it
    again after the delay that _exited() returns."""

    def __init__(self, node, err_path, log):
        self.node = node
        self.err_path = err_path
        self.log = log
        self.proc = None
        self.stopped = False
        self.next_start = 0.0       # time.monotonic() at which to start it again; 0: running

    def _spawn(self, argv, parse):
        self.proc = Proc(argv, prefix=self.node.prefix + NICE, log_path=self.err_path, capture=True, parse=parse)

    def _exited(self, code, tail):
        """Says that the process exited; the seconds to wait before starting it again."""
        raise NotImplementedError

    def check(self):
        if self.stopped or self.proc is None or self.proc.alive():
            return
        now = time.monotonic()
        if self.next_start == 0.0:
            code = self.proc.returncode
            tail = self.proc.log_tail(3).strip().replace("\n", " | ")
            self.proc.wait(timeout=5)
            self.next_start = now + self._exited(code, tail[-300:])
        elif now >= self.next_start:
            self.next_start = 0.0
            self.start()

    def stop(self):
        self.stopped = True
        if self.proc is not None:
            self.proc.kill()


class Observer(Recorder):
    """kind: ctl | lib | py; node: a rosterkit Node; cluster: the rosterkit Cluster (credentials)."""

    def __init__(self, kind, node, cluster, history_dir, log_dir, skip=None, log=print):
        self.kind, self.cluster = kind, cluster
        self.name = f"{kind}-{node.name}"
        super().__init__(node, os.path.join(log_dir, f"{self.name}.err"), log)
        self.history = Jsonl(os.path.join(history_dir, f"{self.name}.jsonl"))
        self.session = 0
        self.items = 0              # over all sessions
        self.session_items = 0
        self.restarts_without_items = 0
        # The planted bug: skip(observer, item) says whether to drop this item (recorded elsewhere).
        self.skip = skip
        self._lock = threading.Lock()

    def argv(self):
        c, n = self.cluster, self.node
        creds = ["--key-file", c.client_key.path]
        if n.voter_id is not None:
            creds += [f"--voter-keys={c.voter_keys()}"]
            endpoint = f"{n.voter_id}@{n.listen}"
        else:
            # One argument: a Z85 key may start with "-", which argparse takes for an option.
            creds += [f"--server-key={n.key.public}"]
            endpoint = n.listen
        if self.kind == "ctl":
            return [binary("rosterctl")] + creds + ["--endpoint", endpoint, "--cluster", c.cluster, "watch", "--json"]
        if self.kind == "lib":
            return [binary("watch_views"), "--json"] + creds + [endpoint]
        if self.kind == "py":
            return [PYTHON, os.path.join(REPO, "examples", "python", "subscriber.py")] + creds + \
                ["--endpoint", endpoint, "--cluster", c.cluster]
        raise ValueError(self.kind)

    def start(self):
        with self._lock:
            self.session += 1
            self.session_items = 0
            self.history.write({"t": time.time(), "observer": self.name, "node": self.node.name,
                                "session": self.session})
            session = self.session
            self._spawn(self.argv(), lambda line: self._line(line, session))

    def _line(self, line, session):
        t = time.time()
        try:
            item = json.loads(line)
        except ValueError:
            self.log(f"{self.name}: not JSON: {line[:200]!r}")
            return None
        if not isinstance(item, dict):
            return None
        if self.skip is not None and self.skip(self, item, t):
            return None
        with self._lock:
            if session != self.session:
                return None  # a line of a process the harness has already replaced
            self.items += 1
            self.session_items += 1
        self.history.write({"t": t, "observer": self.name, "node": self.node.name, "item": item})
        return None  # nothing kept in memory

    def _exited(self, code, tail):
        """Started again after 1 s, up to 5 s while restarts deliver nothing, so that a node that
        is down does not make a session a second."""
        self.log(f"observer {self.name} exited ({code}) after {self.session_items} items: {tail}")
        self.restarts_without_items = self.restarts_without_items + 1 if self.session_items == 0 else 0
        return min(5.0, float(max(1, self.restarts_without_items)))

    def stop(self):
        super().stop()
        self.history.close()


class StatusPoller(Recorder):
    def __init__(self, node, cluster, leaders, log_dir, on_status=None, log=print):
        super().__init__(node, os.path.join(log_dir, f"poll-{node.name}.err"), log)
        self.cluster, self.leaders = cluster, leaders
        self.on_status = on_status

    def start(self):
        self._spawn([PYTHON, os.path.join(HERE, "status_poller.py"), "--endpoint", self.node.listen,
                     "--cluster", self.cluster.cluster, "--key-file", self.cluster.client_key.path,
                     f"--server-key={self.node.key.public}"], self._line)

    def _line(self, line):
        try:
            obj = json.loads(line)
        except ValueError:
            return None
        if not isinstance(obj, dict) or "t" not in obj:
            return None  # (raising here would end the thread that reads the poller's output)
        out = {"t": obj.pop("t"), "voter": self.node.name}
        out.update(obj)
        self.leaders.write(out)
        if self.on_status is not None:
            self.on_status(self.node.name, out)
        return None

    def _exited(self, code, tail):
        """Started again after 1 s (a poller exits only if something is wrong with it)."""
        self.log(f"status poller of {self.node.name} exited ({code}): {tail}")
        return 1.0

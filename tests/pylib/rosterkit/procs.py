"""Child processes of the tests and benchmarks: one `Proc` class, and a registry of them.

A Proc runs in its own session and process group, so a signal reaches everything it spawned
(and a command prefix such as `ip netns exec NS` makes no difference). Its stdout goes to a log
file, or, with capture=True, is read line by line by a thread (each line passed through `parse`;
None results are dropped) so that a test can wait for a line; its stderr goes to the log file.

Every Proc not yet reaped is in a registry. A harness kills what it started with its own cleanup
(Cluster.cleanup, a `with` block, unittest's addCleanup); kill_all() kills whatever is left and
runs at interpreter exit as the last resort. kill_on_signals() makes SIGTERM and SIGHUP exit
through that path too (call it from a driver's main; a library does not install signal handlers).

Children inherit the lock files of the port blocks this process holds (see ports.py), so ports
stay reserved while a child that may be listening on them lives, even after this process died.
"""

import atexit
import os
import signal
import subprocess
import sys
import threading

from . import ports
from .waiting import GiveUp, wait_for

_live = set()
_live_lock = threading.Lock()


class Proc:
    def __init__(self, argv, prefix=None, log_path=None, capture=False, parse=None, env=None):
        """Starts `prefix + argv`. log_path: file (appended to) for stderr, and for stdout unless
        capture is set. capture: collect stdout lines, parsed by parse(text) (default: the text)."""
        self.argv = list(prefix or []) + list(argv)
        self.log_path = log_path
        self.lines = []
        self._parse = parse or (lambda line: line)
        self._lock = threading.Lock()
        self._eof = not capture
        self._log = open(log_path, "ab") if log_path else None
        sink = self._log or subprocess.DEVNULL
        try:
            self.popen = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.PIPE if capture else sink, stderr=sink,
                                          start_new_session=True, env=env, pass_fds=ports.held_fds())
        except BaseException:
            if self._log:
                self._log.close()
            raise
        with _live_lock:
            _live.add(self)
        if capture:
            threading.Thread(target=self._read, name=f"read {os.path.basename(self.argv[0])}",
                             daemon=True).start()

    def __repr__(self):
        return f"Proc(pid {self.pid}, {' '.join(self.argv[:3])}...)"

    # -- state -------------------------------------------------------------------------------
    @property
    def pid(self):
        return self.popen.pid

    @property
    def args(self):
        return self.argv

    @property
    def returncode(self):
        return self.popen.poll()

    def alive(self):
        return self.popen.poll() is None

    def wait(self, timeout=None):
        """Waits for the exit (subprocess.TimeoutExpired after timeout s) and returns the code."""
        code = self.popen.wait(timeout=timeout)
        self._close()
        return code

    # -- signals -----------------------------------------------------------------------------
    def signal(self, sig):
        """Sends sig to the process group, while the process is not reaped (after that its
        group id could belong to someone else)."""
        if self.popen.returncode is None:
            try:
                os.killpg(self.popen.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    def kill(self):
        """SIGKILL of the whole group (stopped processes too), then reaped."""
        self.signal(signal.SIGKILL)
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._close()

    def terminate(self, grace=3.0):
        """SIGCONT and SIGTERM (a graceful exit), SIGKILL after `grace` seconds."""
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        self.kill()

    def _close(self):
        if self.popen.returncode is not None:
            with _live_lock:
                _live.discard(self)
            if self._log:
                self._log.close()
                self._log = None

    # -- output ------------------------------------------------------------------------------
    def _read(self):
        for raw in self.popen.stdout:
            item = self._parse(raw.decode(errors="replace").rstrip("\n"))
            if item is not None:
                with self._lock:
                    self.lines.append(item)
        self.popen.stdout.close()
        with self._lock:
            self._eof = True

    def snapshot(self):
        """The captured lines so far (a copy)."""
        with self._lock:
            return list(self.lines)

    def last(self):
        with self._lock:
            return self.lines[-1] if self.lines else None

    def has(self, text):
        """Some captured (text) line contains `text`."""
        return any(text in line for line in self.snapshot())

    def trim(self, keep):
        """Forgets all but the last `keep` captured lines."""
        with self._lock:
            del self.lines[:-keep]

    def wait_output(self, pred, timeout, what, interval=0.02):
        """Waits until pred(lines) is truthy (called with the lines under the lock) and returns
        it; gives up at once, with the log's tail, when the process closes its stdout."""
        def check():
            with self._lock:
                value = pred(self.lines)
                if not value and self._eof:
                    raise GiveUp(f"{what}: process exited (rc={self.popen.poll()}); {self.argv}\n"
                                 f"{self.log_tail()}")
                return value
        return wait_for(what, check, timeout, interval)

    def communicate(self, timeout):
        """Waits until the process has exited and its stdout is read to the end; the lines."""
        def done():
            with self._lock:
                return self._eof
        wait_for(f"{os.path.basename(self.argv[0])} to finish", done, timeout)
        self.wait(timeout=10)
        return self.snapshot()

    def log_tail(self, n=15):
        """The last n lines of the log file ('' without one)."""
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-n:])


def live():
    """The Procs started and not reaped yet."""
    with _live_lock:
        return list(_live)


def processes_with_arg(arg):
    """pids of the live processes (zombies excepted) with `arg` as one of their command-line
    arguments, whoever started them: how a test finds what a harness left behind."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if arg in argv and state not in ("Z", "X"):
            found.append(int(pid))
    return found


def kill_all():
    """SIGKILL of every process group started here and not reaped yet; then reaps them."""
    procs = live()
    for p in procs:
        p.signal(signal.SIGCONT)
        p.signal(signal.SIGKILL)
    for p in procs:
        p.kill()


def kill_on_signals():
    """SIGTERM and SIGHUP end the program through SystemExit, so that `finally` blocks, cleanups
    and the atexit kill_all run (the default action would leave every child running)."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, _frame: sys.exit(128 + signum))


atexit.register(kill_all)

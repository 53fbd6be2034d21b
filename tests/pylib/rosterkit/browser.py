"""Headless Chromium for the browser tests: tests/web/page_test.js (puppeteer-core), run with node,
answering one JSON line per request (its header lists the requests).

Browser.call(op, **fields) sends a request and returns the answer, or raises BrowserError with the
script's error (a wait that timed out says what the page showed). Nothing is left running:
close() asks the script to close Chromium and exit, then kills the script's process group and, as
the last resort, Chromium's own (puppeteer starts Chromium in a process group of its own, so
that group is killed by the pid the script reported, after checking it is still Chromium).

What the browser tests need (prerequisites()): Debian's chromium and node, and puppeteer-core in
tests/web/node_modules -- all installed by scripts/bootstrap, which leaves BOOTSTRAP_STAMP.
"""

import json
import os
import queue
import shutil
import signal
import subprocess
import threading

from .paths import ROOT

WEB = os.path.join(ROOT, "tests", "web")
PAGE_TEST = os.path.join(WEB, "page_test.js")
CHROMIUM = os.environ.get("ROSTER_CHROMIUM", "/usr/bin/chromium")
# Written by scripts/bootstrap once `npm ci` in tests/web succeeded (after the apt packages).
BOOTSTRAP_STAMP = os.path.join(WEB, "node_modules", ".roster-bootstrap")


class BrowserError(AssertionError):
    """A request to the browser failed (an AssertionError: a test reports it as a failure)."""


def prerequisites():
    """What the browser tests lack, as a list of sentences (empty: all there)."""
    missing = []
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"no Chromium at {CHROMIUM} (Debian package chromium)")
    if shutil.which("node") is None:
        missing.append("no node on PATH (Debian package nodejs)")
    if not os.path.isfile(os.path.join(WEB, "node_modules", "puppeteer-core", "package.json")):
        missing.append("no puppeteer-core in tests/web/node_modules (npm ci in tests/web)")
    return missing


def bootstrapped():
    """Whether scripts/bootstrap has run to its end in this checkout."""
    return os.path.exists(BOOTSTRAP_STAMP)


class Browser:
    def __init__(self, log_path):
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self._answers = queue.Queue()
        self.chromium_pid = None
        env = dict(os.environ, ROSTER_CHROMIUM=CHROMIUM)
        self.popen = subprocess.Popen(["node", PAGE_TEST], cwd=WEB, stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=self._log, start_new_session=True,
                                      env=env)
        threading.Thread(target=self._read, name="read page_test.js", daemon=True).start()

    def _read(self):
        for raw in self.popen.stdout:
            self._answers.put(raw.decode(errors="replace"))
        self._answers.put(None)  # end of output: the script exited

    def call(self, op, timeout=30.0, **fields):
        """Sends {"op": op, **fields}; returns the answer (a dict) within `timeout` seconds."""
        if self.popen.poll() is not None:
            raise BrowserError(f"page_test.js exited ({self.popen.returncode}) before '{op}'\n{self.log_tail()}")
        self.popen.stdin.write((json.dumps(dict(op=op, **fields)) + "\n").encode())
        self.popen.stdin.flush()
        try:
            line = self._answers.get(timeout=timeout)
        except queue.Empty:
            raise BrowserError(f"page_test.js gave no answer to '{op}' within {timeout:g} s\n{self.log_tail()}") from None
        if line is None:
            raise BrowserError(f"page_test.js exited ({self.popen.poll()}) during '{op}'\n{self.log_tail()}")
        answer = json.loads(line)
        if not answer.get("ok"):
            raise BrowserError(f"{op}: {answer.get('error')}")
        return answer

    def launch(self):
        answer = self.call("launch", timeout=60)
        self.chromium_pid = answer.get("pid")
        return answer

    def wait(self, what, timeout_ms, **args):
        """Polls the page (every 20 ms) until condition `what` of page_test.js holds; the page's
        Date.now() at that moment, in seconds (comparable with time.time())."""
        answer = self.call("wait", timeout=timeout_ms / 1000 + 10, what=what, args=args, timeout_ms=timeout_ms)
        return answer["t"] / 1000

    def snapshot(self):
        return self.call("snapshot")["page"]

    def log(self):
        return self.call("log")["entries"]

    def screenshot(self, path):
        return self.call("screenshot", path=path)["path"]

    def log_tail(self, n=20):
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-n:])

    def close(self):
        """Closes Chromium and the script, whatever state they are in."""
        if self.popen.poll() is None:
            try:
                self.popen.stdin.write(b'{"op": "close"}\n')
                self.popen.stdin.flush()
                self.popen.stdin.close()
            except OSError:
                pass
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.popen.wait(timeout=10)
        self._kill_chromium()
        self.popen.stdout.close()
        self._log.close()

    def _kill_chromium(self):
        pid = self.chromium_pid
        if not pid:
            return
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv0 = f.read().split(b"\0")[0].decode(errors="replace")
        except OSError:
            return  # gone already
        if "chrom" in os.path.basename(argv0):
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

"""Waiting for a condition: the one `wait_for` of the tests and benchmarks.

Nothing sleeps and hopes: a wait polls a predicate until it returns something truthy, or until
its deadline, and then fails with an error that names what was awaited (and the last error the
predicate raised, if any). A predicate that cannot succeed any more (the process it watches has
exited) raises GiveUp, which ends the wait at once.

What must not happen (an attack changes nothing) is checked with holds_for: the predicate must
hold at every poll for the whole window, which starts once the test has evidence that the thing
that could have caused the change was handled (a reply, a counter that rose, a refused handshake).
"""

import time


class WaitTimeout(AssertionError, TimeoutError):
    """A wait ran out of time. An AssertionError, so that a unittest reports a failure (not an
    error); a TimeoutError, so that drivers can catch it as one."""


class GiveUp(RuntimeError):
    """Raised by a predicate when what it waits for can no longer happen; wait_for re-raises it
    at once instead of polling on."""


def wait_for(what, predicate, timeout=20.0, interval=0.05):
    """Calls predicate() every `interval` seconds until it returns something truthy, and returns
    that. Any exception the predicate raises (a node not up yet, a partial line) counts as not
    yet, except GiveUp, which propagates. After `timeout` seconds: WaitTimeout naming `what`."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except GiveUp:
            raise
        except Exception as e:  # noqa: BLE001 -- any failure of the predicate means "not yet"
            last_error = e
        left = deadline - time.monotonic()
        if left <= 0:
            raise WaitTimeout(f"timed out after {timeout:g} s waiting for {what}" +
                              (f" (last error: {last_error!r})" if last_error else ""))
        time.sleep(min(interval, left))


def holds_for(what, predicate, duration, interval=0.05):
    """The counterpart of wait_for, for what must NOT happen: calls predicate() every `interval`
    seconds for `duration` seconds, and fails (an AssertionError naming `what`, and what the
    predicate returned or raised) the first time it is not truthy. Returns the last value."""
    start = time.monotonic()
    deadline = start + duration
    while True:
        try:
            value = predicate()
        except GiveUp:
            raise
        except Exception as e:  # noqa: BLE001 -- a predicate that fails does not hold
            value, error = None, e
        else:
            error = None
        if not value:
            raise AssertionError(f"{what} stopped holding after {time.monotonic() - start:.2f} s"
                                 + (f": {error!r}" if error else f" ({value!r})"))
        left = deadline - time.monotonic()
        if left <= 0:
            return value
        time.sleep(min(interval, left))

"""End an MMS worker process whose request ran past the response timeout.

When a prediction outlives MMS's response timeout, the Java front end answers the client with a
5xx, drops its connection to the worker and starts a replacement, but never stops the process
that is still busy: a hung ``predict_fn`` keeps its CPU and its copy of the model for ever, one
more process per timeout. :class:`HangWatchdog` runs a daemon thread in the worker that kills
the worker (SIGKILL, which cannot be ignored) once one ``handle`` call has run for the timeout
plus a short margin, by which time MMS has already given up on it. Sleeping and pure-Python
busy loops are both caught; code that holds the GIL for the whole time is not.

SIGTERM is not tried first on purpose: MMS's worker handles SIGTERM by deleting files it shares
with its backend process (among them the path of the socket replacements connect to) and then
carries on, so a SIGTERM would not stop the hung call and could leave the model unable to start
new workers.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from typing import Callable, Optional

LOGGER = logging.getLogger("sagemaker-inference")

# Seconds past the response timeout before the worker is ended (MMS starts its clock slightly
# before ``handle`` is called, so it has answered the client by then).
DEFAULT_MARGIN_SECONDS = 1.0
_POLL_SECONDS = 0.25


def kill_this_process() -> None:
    """Flush the log streams and SIGKILL the current process."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed stream must not keep a hung worker alive
            pass
    os.kill(os.getpid(), signal.SIGKILL)


class HangWatchdog:
    """Kill this process when one request (between :meth:`enter` and :meth:`leave`) runs for
    longer than ``timeout + margin`` seconds.

    The thread starts on the first :meth:`enter` in each process (so a watchdog created before
    MMS forks a worker still runs in the worker). ``kill`` and ``clock`` are for tests.
    """

    def __init__(
        self,
        timeout: float,
        margin: float = DEFAULT_MARGIN_SECONDS,
        kill: Callable[[], None] = kill_this_process,
        clock: Callable[[], float] = time.monotonic,
        poll: float = _POLL_SECONDS,
    ):
        self.limit = float(timeout) + float(margin)
        self._kill = kill
        self._clock = clock
        self._poll = poll
        self._busy_since: Optional[float] = None
        self._pid: Optional[int] = None
        self._stopped = threading.Event()

    def enter(self) -> None:
        """A request starts (call from the thread that runs it)."""
        if self._pid != os.getpid():
            self._start()
        self._busy_since = self._clock()

    def leave(self) -> None:
        """The request finished, however it ended."""
        self._busy_since = None

    def stop(self) -> None:
        self._stopped.set()

    def overdue(self) -> bool:
        """Whether the running request has been running for longer than the limit."""
        since = self._busy_since
        return since is not None and self._clock() - since > self.limit

    def check(self) -> bool:
        """Kill the process if the running request is overdue; returns whether it did."""
        if not self.overdue():
            return False
        LOGGER.error(
            "A request ran for more than %.1f s, past the response timeout (MMS has answered it "
            "with an error and started a new worker); ending this hung worker (pid %d)",
            self.limit,
            os.getpid(),
        )
        self._kill()
        return True

    def _start(self) -> None:
        self._pid = os.getpid()
        self._stopped = threading.Event()
        thread = threading.Thread(target=self._run, name="sagemaker-hang-watchdog", daemon=True)
        thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(self._poll):
            if self.check():
                return

"""Tie a process's life to its parent's with kernel mechanisms, so nothing outlives the server.

Two tools, for the two kinds of parent in the server's process tree:

* :func:`die_with_parent` asks the kernel (``PR_SET_PDEATHSIG``) to SIGKILL the calling process
  when the thread that forked it ends. Right when that thread lives as long as the child: the
  supervisor's thread that starts Java, or the Python backend's main thread that forks workers.
* :func:`watch_parent` waits on a pidfd of the parent (Linux 5.3+; a poll of ``getppid`` where
  there is none) in a daemon thread. Used by MMS's Python backends, whose parent is a JVM thread
  of unknown lifetime, so ``PR_SET_PDEATHSIG`` could fire while the JVM still runs.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import sys
import threading
from typing import Callable, Optional

_PR_SET_PDEATHSIG = 1
_POLL_SECONDS = 0.5
_LIBC: Optional[ctypes.CDLL] = None


def _libc() -> Optional[ctypes.CDLL]:
    global _LIBC
    if _LIBC is None and sys.platform.startswith("linux"):
        try:
            _LIBC = ctypes.CDLL(None, use_errno=True)
        except OSError:
            return None
    return _LIBC


def die_with_parent(expected_parent: int, signum: int = signal.SIGKILL) -> bool:
    """Have the kernel send ``signum`` to this process when its parent thread ends.

    ``expected_parent`` is the pid the caller should have as parent: when the parent already
    died before this call (so the kernel will never signal), the process exits at once.
    Returns False where the kernel offers no such thing (not Linux); safe in a
    ``preexec_fn`` (no allocation beyond a ctypes call on a library loaded before the fork).
    """
    libc = _libc()
    if libc is None:
        return False
    if libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0) != 0:
        return False
    if os.getppid() != expected_parent:
        os._exit(1)
    return True


def preexec_die_with_parent() -> Callable[[], None]:
    """A ``preexec_fn`` for ``subprocess.Popen``: the child dies when the calling thread does."""
    parent = os.getpid()
    _libc()  # load before the fork; the child only calls into it

    def preexec() -> None:
        die_with_parent(parent)

    return preexec


def watch_parent(on_exit: Callable[[], None], parent: Optional[int] = None) -> threading.Thread:
    """Call ``on_exit`` in a daemon thread as soon as ``parent`` (default: ours) has ended."""
    watched = os.getppid() if parent is None else parent
    thread = threading.Thread(
        target=_wait_for_exit, args=(watched, on_exit), name="parent-watch", daemon=True
    )
    thread.start()
    return thread


def _wait_for_exit(pid: int, on_exit: Callable[[], None]) -> None:
    fd = _pidfd(pid)
    if fd is not None:
        try:
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            while not poller.poll():
                pass
        finally:
            os.close(fd)
    else:
        event = threading.Event()
        while os.getppid() == pid and _exists(pid):
            event.wait(_POLL_SECONDS)
    on_exit()


def _pidfd(pid: int) -> Optional[int]:
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        return opener(pid)
    except OSError:
        return None


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

"""Find the processes a test or a server started, by a marker they inherit in their environment.

Shared by the suite-wide guard (test/conftest.py) and the server harness
(test/integration/server_harness.py); test/ is on sys.path because its conftest.py is there.
"""

import os
import time
from typing import List

import psutil


def processes_with(name: str, value: str) -> List[psutil.Process]:
    """Live processes (zombies and this one excluded) whose environment has ``name=value``."""
    found = []
    for proc in psutil.process_iter():
        if proc.pid == os.getpid():
            continue
        try:
            if proc.environ().get(name) == value and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def wait_gone(name: str, value: str, timeout: float, interval: float = 0.1) -> List[psutil.Process]:
    """Poll until no process with ``name=value`` is alive or ``timeout`` passes; the ones left."""
    deadline = time.monotonic() + timeout
    left = processes_with(name, value)
    while left and time.monotonic() < deadline:
        time.sleep(interval)
        left = processes_with(name, value)
    return left


def kill_all(procs: List[psutil.Process], timeout: float = 5.0) -> None:
    """SIGKILL every process of ``procs`` still there and wait up to ``timeout`` for them."""
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=timeout)

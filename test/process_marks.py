"""Find the processes a test or a server started, by a marker they inherit in their environment.

Shared by the suite-wide guard (test/conftest.py) and the server harness
(test/integration/server_harness.py); test/ is on sys.path because its conftest.py is there.
"""

import os
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

"""Fixtures of the integration tests; the server harness itself is server_harness.py."""

import os
import shutil
import sys
import tempfile
from typing import Dict, List, Optional

import pytest

from server_harness import Server


@pytest.fixture
def server_root():
    root = tempfile.mkdtemp(prefix="smi-it-")
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def make_server(server_root):
    """Factory for servers stopped (and checked for leftovers) at the end of the test."""
    servers: List[Server] = []

    def factory(env: Optional[Dict[str, str]] = None, handler: str = "") -> Server:
        root = os.path.join(server_root, "s{}".format(len(servers)))
        os.makedirs(root)
        server = Server(root, env=env, handler=handler)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        if server.process is not None and server.process.poll() is None:
            server.stop()


@pytest.fixture(scope="session")
def timings():
    """Collects start-to-first-prediction times; printed at the end of the session."""
    values: Dict[str, float] = {}
    yield values
    if values:
        lines = ["{}: {:.2f} s".format(name, seconds) for name, seconds in sorted(values.items())]
        sys.stderr.write("\nstart to first prediction:\n  " + "\n  ".join(lines) + "\n")

"""Fixtures of the tests that start processes (test/process)."""

import ctypes
import sys

import pytest

from sagemaker_inference import supervisor


@pytest.fixture(autouse=True)
def no_lasting_subreaper():
    """Supervisor.run makes the test process a child subreaper. Left so, it would adopt the
    orphaned processes of servers that later (integration) tests start, and as nothing reaps
    them their zombies would look alive to anyone waiting for them to end."""
    yield
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(supervisor._PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)

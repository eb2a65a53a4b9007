"""lifetime: the parent watch and the death-signal request (no process is started here)."""

import os
import threading

import pytest

from sagemaker_inference import lifetime


def _unused_pid():
    """A pid no process can have: above the kernel's pid_max (no signal is sent to find it)."""
    try:
        with open("/proc/sys/kernel/pid_max") as handle:
            return int(handle.read()) + 1
    except (OSError, ValueError):
        return 2**22 + 1  # the largest pid_max Linux allows, plus one


def test_watch_of_a_process_that_is_already_gone_fires_at_once():
    fired = threading.Event()
    thread = lifetime.watch_parent(fired.set, parent=_unused_pid())
    assert fired.wait(5)
    thread.join(5)
    assert thread.daemon and not thread.is_alive()


def test_polling_fallback_fires_when_there_is_no_pidfd(monkeypatch):
    monkeypatch.delattr(os, "pidfd_open", raising=False)
    fired = threading.Event()
    lifetime.watch_parent(fired.set, parent=_unused_pid())
    assert fired.wait(5)


@pytest.mark.skipif(not os.uname().sysname == "Linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_death_signal_request_leaves_a_process_with_its_parent_running(monkeypatch):
    calls = []

    class FakeLibc:
        def prctl(self, *args):
            calls.append(args)
            return 0

    monkeypatch.setattr(lifetime, "_LIBC", FakeLibc())
    assert lifetime.die_with_parent(os.getppid()) is True
    assert calls == [(lifetime._PR_SET_PDEATHSIG, 9, 0, 0, 0)]


def test_no_kernel_support_is_reported_not_raised(monkeypatch):
    monkeypatch.setattr(lifetime, "_libc", lambda: None)
    assert lifetime.die_with_parent(os.getppid()) is False

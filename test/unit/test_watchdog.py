import os
import threading

from sagemaker_inference.watchdog import HangWatchdog


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def make(timeout=5.0, margin=1.0):
    clock = Clock()
    kills = []
    watchdog = HangWatchdog(timeout, margin=margin, kill=lambda: kills.append(1), clock=clock)
    return watchdog, clock, kills


def test_idle_worker_is_never_overdue():
    watchdog, clock, kills = make()
    clock.now += 1000
    assert not watchdog.check()
    assert kills == []


def test_request_within_timeout_and_margin_is_left_alone():
    watchdog, clock, kills = make()
    watchdog.enter()
    clock.now += 6.0
    assert not watchdog.check()
    watchdog.leave()
    clock.now += 100
    assert not watchdog.check()
    assert kills == []
    watchdog.stop()


def test_request_past_timeout_plus_margin_kills_once():
    watchdog, clock, kills = make()
    watchdog.enter()
    clock.now += 6.01
    assert watchdog.overdue()
    assert watchdog.check()
    assert kills == [1]
    watchdog.stop()


def test_each_request_gets_its_own_clock():
    watchdog, clock, kills = make(timeout=2, margin=0)
    watchdog.enter()
    clock.now += 1.5
    watchdog.leave()
    watchdog.enter()
    clock.now += 1.5
    assert not watchdog.check()
    watchdog.stop()


def test_thread_kills_a_request_that_hangs_for_real():
    killed = threading.Event()
    watchdog = HangWatchdog(0.2, margin=0.1, kill=killed.set, poll=0.02)
    watchdog.enter()
    assert killed.wait(5)
    watchdog.stop()


def test_thread_starts_again_in_a_new_process(monkeypatch):
    watchdog = HangWatchdog(60, kill=lambda: None, poll=0.01)
    watchdog.enter()
    first = {t for t in threading.enumerate() if t.name == "sagemaker-hang-watchdog"}
    monkeypatch.setattr(os, "getpid", lambda: -12345)  # as after MMS forks the worker
    watchdog.enter()
    running = {t for t in threading.enumerate() if t.name == "sagemaker-hang-watchdog"}
    new = running - first
    assert len(new) == 1 and all(t.is_alive() for t in new)
    watchdog.stop()
    for thread in new:
        thread.join(2)
        assert not thread.is_alive()

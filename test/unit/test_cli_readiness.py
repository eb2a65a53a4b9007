"""cli.readiness: what counts as healthy and what the watcher says (``ping`` is faked)."""

import re
import time

import pytest

from sagemaker_inference.cli import readiness


@pytest.mark.parametrize(
    "status, body, expected",
    [
        (200, '{"status": "Healthy"}', True),
        (200, '{"status": "healthy"}', True),
        (200, "{}", True),
        (200, "", True),
        (200, "[1]", True),
        (200, '{"status": "Unhealthy"}', False),
        (503, '{"status": "Healthy"}', False),
        (None, "", False),
    ],
)
def test_healthy(status, body, expected):
    assert readiness.healthy(status, body) is expected


def answers(monkeypatch, *replies):
    """``ping`` answers ``replies`` in turn (the last one from then on)."""
    replies = list(replies)
    asked = []

    def ping(url, timeout=2.0):
        asked.append(url)
        return replies.pop(0) if len(replies) > 1 else replies[0]

    monkeypatch.setattr(readiness, "ping", ping)
    return asked


def test_listening_then_loaded(monkeypatch):
    asked = answers(monkeypatch, (None, ""), (503, ""), (200, '{"status": "Healthy"}'))
    said = []
    started = time.monotonic() - 2.5
    watcher = readiness.ReadinessWatcher(8123, started, said.append, False, interval=0)
    watcher.run()  # here, not in a thread: returns once the model serves
    assert asked == ["http://127.0.0.1:8123/ping"] * 3
    assert said[0] == "listening on http://localhost:8123"
    assert re.fullmatch(
        r"model loaded in \d+\.\d s: send requests to POST "
        r"http://localhost:8123/invocations \(Ctrl-C stops\)",
        said[1],
    )
    assert len(said) == 2 and 2.5 <= watcher.ready_after < 60


def test_multi_model_ready_message(monkeypatch):
    answers(monkeypatch, (200, "{}"))
    said = []
    watcher = readiness.ReadinessWatcher(8123, 0.0, said.append, True, interval=0)
    watcher.run()
    assert said[-1].startswith("ready after ")
    assert said[-1].endswith("load models with POST /models, then POST /models/NAME/invoke")


def test_done_stops_the_watch_without_a_word(monkeypatch):
    asked = answers(monkeypatch, (None, ""))
    said = []
    watcher = readiness.ReadinessWatcher(8123, 0.0, said.append, False, interval=0)
    watcher.done.set()
    watcher.run()
    assert asked == [] and said == [] and watcher.ready_after is None

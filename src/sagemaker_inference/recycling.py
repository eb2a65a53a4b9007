"""Recycle an MMS worker after a number of requests or above a memory bound (both off by default).

A long-running worker whose user code leaks memory grows without limit. With
``SAGEMAKER_MAX_REQUESTS_PER_WORKER`` and/or ``SAGEMAKER_MAX_WORKER_RSS_MB`` set, the handler
service asks for its worker to be replaced once the bound is reached: the answer to the request
that reached it carries the header :data:`RETIRE_HEADER`, which the library's patched MMS
response decoder removes before the client sees it. MMS's thread for that worker then takes no
further request and disconnects (the Python process exits and its memory is returned), and MMS
starts a fresh worker after its usual one-second retry delay; requests queued meanwhile go to
the other workers or wait. No request fails. Without the patched front end (no JDK at start)
the settings have no effect.
"""

from __future__ import annotations

import os
from typing import Optional

# Keep in step with ModelResponseDecoder.RETIRE_HEADER (java-src).
RETIRE_HEADER = "x-sagemaker-inference-retire-worker"

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def current_rss_bytes() -> Optional[int]:
    """Resident set size of this process from /proc/self/statm (None where unreadable)."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            fields = handle.read().split()
        return int(fields[1]) * _PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return None


class WorkerRecycler:
    """Counts the requests one worker process answered and says when it should be replaced.

    ``max_requests`` (0 or None: no limit) and ``max_rss_bytes`` (None: no limit) are the
    bounds; ``rss`` reads the current resident size (tests replace it).
    """

    def __init__(
        self,
        max_requests: Optional[int] = None,
        max_rss_bytes: Optional[int] = None,
        rss=current_rss_bytes,
    ):
        self.max_requests = max_requests or 0
        self.max_rss_bytes = max_rss_bytes
        self._rss = rss
        self.served = 0
        self.requested = False

    @property
    def enabled(self) -> bool:
        return bool(self.max_requests or self.max_rss_bytes)

    def after(self, requests: int) -> bool:
        """Record ``requests`` more answered; True once (the first time a bound is reached)."""
        if self.requested or not self.enabled:
            return False
        self.served += requests
        due = bool(self.max_requests) and self.served >= self.max_requests
        if not due and self.max_rss_bytes:
            rss = self._rss()
            due = rss is not None and rss > self.max_rss_bytes
        self.requested = due
        return due

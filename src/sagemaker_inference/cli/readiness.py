"""Watch a starting server's /ping and say when it listens and when the model serves."""

import json
import threading
import time
import urllib.error
import urllib.request
from typing import Callable, Optional, Tuple


def ping(url: str, timeout: float = 2.0) -> Tuple[Optional[int], str]:
    """(status, body) of GET url; status None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, ""
    except (urllib.error.URLError, OSError, ValueError):
        return None, ""


def healthy(status: Optional[int], body: str) -> bool:
    """A 200 whose JSON body, if any, has no ``status`` or ``"status": "Healthy"``."""
    if status != 200:
        return False
    try:
        answer = json.loads(body)
    except ValueError:
        return True
    state = answer.get("status") if isinstance(answer, dict) else None
    return state is None or str(state).lower() == "healthy"


class ReadinessWatcher(threading.Thread):
    """Poll /ping; report when the port answers and when the model serves."""

    def __init__(
        self,
        port: int,
        started: float,
        emit: Callable[[str], None],
        multi_model: bool,
        interval: float = 0.25,
    ):
        super().__init__(name="sagemaker-inference-ready", daemon=True)
        self._url = "http://127.0.0.1:%d/ping" % port
        self._port = port
        self._t0 = started
        self._emit = emit
        self._multi_model = multi_model
        self._interval = interval
        self.done = threading.Event()
        self.ready_after: Optional[float] = None

    def run(self) -> None:
        listening = False
        while not self.done.is_set():
            status, body = ping(self._url)
            if status is not None and not listening:
                listening = True
                self._emit("listening on http://localhost:%d" % self._port)
            if healthy(status, body):
                self.ready_after = time.monotonic() - self._t0
                self._emit(self._ready_message(self.ready_after))
                return
            self.done.wait(self._interval)

    def _ready_message(self, seconds: float) -> str:
        if self._multi_model:
            return (
                "ready after %.1f s: load models with POST /models, "
                "then POST /models/NAME/invoke" % seconds
            )
        return (
            "model loaded in %.1f s: send requests to POST "
            "http://localhost:%d/invocations (Ctrl-C stops)" % (seconds, self._port)
        )

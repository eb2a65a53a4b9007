"""Helpers for the usability integration tests: processes, waiting, leftover checks."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from typing import Callable, Iterator, List, Mapping, Optional, Sequence

import psutil
import requests

from process_marks import kill_all, wait_gone
from server_harness import MARKER_ENV, jre_only_shape, leftover_processes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FRUIT_MODEL = os.path.join(ROOT, "examples", "fruit", "model")
ENTRYPOINT = os.path.join(ROOT, "test", "container", "entrypoint.py")
APPLE = [182, 7.4, 12.9, 0.2]
LEMON = [105, 5.4, 2.5, 0.5]


def console_script() -> List[str]:
    """The installed ``sagemaker-inference`` script next to this interpreter, else -m."""
    script = os.path.join(os.path.dirname(sys.executable), "sagemaker-inference")
    if os.path.exists(script):
        return [script]
    return [sys.executable, "-m", "sagemaker_inference"]


def server_env(tmp_path, extra: Optional[Mapping[str, str]] = None) -> dict:
    """Environment for a server subprocess: its own TMPDIR (MMS's pid file), and PATH and
    JAVA_HOME with a Java runtime but no JDK."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAGEMAKER_")}
    env.update(jre_only_shape())  # a Java runtime, no JDK, as in a framework image
    tmpdir = os.path.join(str(tmp_path), "tmp")
    os.makedirs(tmpdir, exist_ok=True)
    env["TMPDIR"] = tmpdir
    # Tests talk to 127.0.0.1 only; a container (the entrypoint's default) binds every interface.
    env["SAGEMAKER_BIND_ADDRESS"] = "127.0.0.1"
    # A container starts with an empty HOME (and the state dir under it stays in the test).
    env["HOME"] = os.path.join(str(tmp_path), "home")
    os.makedirs(env["HOME"], exist_ok=True)
    # Run as root, the default config file is /etc/sagemaker-mms.properties: outside the test.
    env["SAGEMAKER_MMS_CONFIG_FILE"] = os.path.join(tmpdir, "sagemaker-mms.properties")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


class Server(object):
    """A server subprocess in its own session, with its output collected by a thread."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], cwd: str):
        self.argv = list(argv)
        # Every process the server starts inherits the marker, including Java, which runs in
        # a session of its own: leftovers are found by it, not by session.
        self.marker = uuid.uuid4().hex
        self.process = subprocess.Popen(
            self.argv,
            env=dict(env, **{MARKER_ENV: self.marker}),
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.session = self.process.pid
        self.lines: List[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for raw in iter(self.process.stdout.readline, b""):
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, predicate: Callable[[str], bool], timeout: float = 120.0) -> str:
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            while seen < len(self.lines):
                line = self.lines[seen]
                seen += 1
                if predicate(line):
                    return line
            if self.process.poll() is not None and seen >= len(self.lines):
                self._reader.join(timeout=2)
                if seen >= len(self.lines):
                    raise AssertionError(
                        "process exited (%s) before the expected line:\n%s"
                        % (self.process.returncode, self.output)
                    )
            time.sleep(0.05)
        raise AssertionError("timed out waiting for a line; output so far:\n%s" % self.output)

    def signal(self, signum: int, group: bool = False) -> None:
        if group:
            os.killpg(self.session, signum)
        else:
            self.process.send_signal(signum)

    def wait(self, timeout: float = 40.0) -> int:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def leftovers(self) -> List[psutil.Process]:
        """Processes this server started that are still alive (zombies ignored)."""
        return leftover_processes(self.marker)

    def wait_no_leftovers(self, timeout: float = 15.0) -> List[psutil.Process]:
        return wait_gone(MARKER_ENV, self.marker, timeout, interval=0.2)

    def kill(self) -> None:
        """Last resort in teardown: SIGKILL everything in the session."""
        kill_all(self.leftovers(), timeout=0)
        try:
            self.process.kill()
        except OSError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def wait_until_ready(port: int, server: Optional[Server] = None, timeout: float = 120.0) -> float:
    """Wait for GET /ping to answer 200 with a healthy body; returns the seconds waited."""
    started = time.monotonic()
    url = "http://127.0.0.1:%d/ping" % port
    while time.monotonic() - started < timeout:
        if server is not None and server.process.poll() is not None:
            raise AssertionError("server exited early:\n" + server.output)
        try:
            response = requests.get(url, timeout=2)
            if response.status_code == 200 and "Unhealthy" not in response.text:
                return time.monotonic() - started
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(
        "server on port %d not ready after %.0f s:\n%s"
        % (port, timeout, server.output if server else "")
    )


def stop(server: Server, signum: int = signal.SIGTERM, group: bool = False) -> int:
    server.signal(signum, group=group)
    return server.wait()


@contextlib.contextmanager
def loaded(server: Server) -> Iterator[Server]:
    """Yield ``server`` once ``serve`` says the model loaded; Ctrl-C its group afterwards."""
    try:
        server.wait_for_line(lambda line: "model loaded in" in line)
        yield server
    finally:
        if server.process.poll() is None:
            stop(server, signal.SIGINT, group=True)
        server.kill()

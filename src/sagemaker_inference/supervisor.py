"""Own MMS's Java process and everything it starts: signals, health, fail-fast and clean exit.

Exit codes of :meth:`Supervisor.run` (and so of the container's entrypoint):
  0  stopped on request (SIGTERM/SIGINT)
  2  the model failed to load SAGEMAKER_MAX_LOAD_FAILURES times
  3  the Java front end exited without being asked to
  4  a model's Python backend process died (MMS never restarts it)
  5  the inference port did not open within SAGEMAKER_STARTUP_TIMEOUT
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Dict, Iterable, List, Mapping, Optional, Set, Tuple

import psutil

from sagemaker_inference import lifetime, mms_worker

LOGGER = logging.getLogger("sagemaker-inference")

EXIT_STOPPED = 0
EXIT_LOAD_FAILED = 2
EXIT_MMS_DIED = 3
EXIT_BACKEND_DIED = 4
EXIT_STARTUP_TIMEOUT = 5

WORKER_SCRIPT = "model_service_worker.py"
# Kernel wait channel of a Python worker blocked reading its next request from the Java side.
_IDLE_WCHANS = frozenset({"unix_stream_read_generic", "unix_stream_recvmsg"})
_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Make orphaned descendants (MMS's Python backends after the JVM ends) our children."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _model_name(cmdline: List[str]) -> str:
    if "--model-name" in cmdline:
        index = cmdline.index("--model-name")
        if index + 1 < len(cmdline):
            return cmdline[index + 1]
    return "?"


def _is_worker(proc: psutil.Process) -> bool:
    try:
        return any(part.endswith(WORKER_SCRIPT) for part in proc.cmdline())
    except psutil.Error:
        return False


def _read_wchan(pid: int) -> Optional[str]:
    try:
        with open("/proc/{}/wchan".format(pid), encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return None


def busy_workers(java: psutil.Process) -> Optional[int]:
    """How many Python workers are inside a request, or None when this cannot be told."""
    try:
        backends = [child for child in java.children() if _is_worker(child)]
    except psutil.Error:
        return 0
    busy = 0
    for backend in backends:
        try:
            workers = backend.children()
        except psutil.Error:
            continue
        for worker in workers:
            try:
                status = worker.status()
            except psutil.Error:
                continue
            if status == psutil.STATUS_ZOMBIE:
                continue
            if status == psutil.STATUS_RUNNING:
                busy += 1
                continue
            wchan = _read_wchan(worker.pid)
            if not wchan or wchan == "0":
                return None
            if wchan not in _IDLE_WCHANS:
                busy += 1
    return busy


def open_connections(java: psutil.Process, port: int) -> int:
    try:
        conns = java.net_connections(kind="tcp")
    except (psutil.Error, AttributeError):
        return 0
    return sum(
        1
        for conn in conns
        if conn.status == psutil.CONN_ESTABLISHED and conn.laddr and conn.laddr.port == port
    )


def count_lines(path: Optional[str]) -> List[str]:
    if not path:
        return []
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return [line.rstrip("\n") for line in handle if line.strip()]
    except OSError:
        return []


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def terminate_tree(
    pgid: Optional[int], known: Iterable[psutil.Process], timeout: float = 3.0
) -> List[int]:
    """SIGTERM a process group and the given processes, then SIGKILL what is left after timeout.

    Returns the pids that had to be killed.
    """
    procs: Dict[int, psutil.Process] = {}
    for proc in known:
        if _alive(proc):
            procs[proc.pid] = proc
    if pgid:
        for proc in psutil.process_iter():
            try:
                if os.getpgid(proc.pid) == pgid and proc.pid != os.getpid():
                    procs.setdefault(proc.pid, proc)
            except (OSError, psutil.Error):
                continue
    for proc in list(procs.values()):
        try:
            procs.update({child.pid: child for child in proc.children(recursive=True)})
        except psutil.Error:
            pass
    targets = [proc for proc in procs.values() if proc.pid != os.getpid()]
    for proc in targets:
        try:
            proc.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(targets, timeout=timeout)
    killed = []
    for proc in alive:
        try:
            proc.kill()
            killed.append(proc.pid)
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=timeout)
    reap_zombies()
    return killed


def reap_zombies(keep: Optional[int] = None) -> None:
    """Collect exited children (orphaned workers handed to us as subreaper), except ``keep``.

    ``keep`` (the JVM, whose exit code its Popen object collects) is left a zombie; while it is
    one, other exited children may wait for a later call. No /proc scan: one waitid per child.
    """
    if not hasattr(os, "waitid"):
        _reap_zombies_by_listing(keep)
        return
    while True:
        try:
            # WNOWAIT: look at an exited child without collecting it, so ``keep`` stays a zombie.
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return  # no children at all
        except OSError:
            return
        if info is None or info.si_pid == 0 or info.si_pid == keep:
            return
        try:
            os.waitpid(info.si_pid, os.WNOHANG)
        except ChildProcessError:
            continue  # collected meanwhile by someone else (e.g. a Popen.wait in another thread)


def _reap_zombies_by_listing(keep: Optional[int]) -> None:
    try:
        children = psutil.Process().children()
    except psutil.Error:
        return
    for child in children:
        if child.pid == keep:
            continue
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                os.waitpid(child.pid, os.WNOHANG)
        except (OSError, psutil.Error):
            pass


class Supervisor:
    """Start the JVM in its own session and watch it until it ends or we are told to stop."""

    def __init__(
        self,
        cmd: List[str],
        env: Optional[Mapping[str, str]] = None,
        inference_port: int = 8080,
        multi_model: bool = False,
        management_url: Optional[str] = None,
        load_failure_file: Optional[str] = None,
        max_load_failures: int = 3,
        grace_seconds: float = 20.0,
        startup_timeout: float = 600.0,
        poll_interval: float = 0.2,
        backend_grace: float = 3.0,
        discovery_interval: float = 5.0,
        worker_error_file: Optional[str] = None,
        java_drains: bool = False,
    ):
        self.cmd = cmd
        self.env = dict(env) if env is not None else None
        self.inference_port = int(inference_port)
        self.multi_model = multi_model
        self.management_url = management_url
        self.load_failure_file = load_failure_file
        self.max_load_failures = max(1, int(max_load_failures))
        self.grace_seconds = max(0.0, float(grace_seconds))
        self.startup_timeout = float(startup_timeout)
        self.poll_interval = poll_interval
        self.backend_grace = backend_grace
        self.discovery_interval = discovery_interval
        self.worker_error_file = worker_error_file
        self._error_file_key: Optional[Tuple[int, int]] = None
        self._deaths = 0
        # The JVM runs the library's patched front end, which drains on SIGTERM by itself.
        self.java_drains = java_drains
        self.process: Optional[subprocess.Popen] = None
        self._java: Optional[psutil.Process] = None
        self._stop_signal: Optional[int] = None
        self._started_at = 0.0
        self._serving = False
        self._seen: Dict[int, psutil.Process] = {}
        self._backends: Dict[str, Set[int]] = {}
        self._missing_since: Dict[str, float] = {}
        # Backends found by the last discovery (pid -> process, model name) and when to look again.
        self._known: Dict[int, Tuple[psutil.Process, str]] = {}
        self._next_discovery = 0.0

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> subprocess.Popen:
        become_subreaper()
        if self.load_failure_file:
            os.makedirs(os.path.dirname(self.load_failure_file) or ".", exist_ok=True)
            open(self.load_failure_file, "w").close()
        LOGGER.info("Starting MMS: %s", " ".join(self.cmd))
        self._started_at = time.monotonic()
        # Java gets its own session (terminal signals reach it only through us) and dies with
        # this thread, which runs until the server ends, however this process ends: SIGKILL
        # included. MMS's Python backends in turn die with Java (see mms_worker).
        self.process = subprocess.Popen(
            self.cmd,
            env=self.env,
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            preexec_fn=lifetime.preexec_die_with_parent(),
        )
        self._java = psutil.Process(self.process.pid)
        return self.process

    def request_stop(self, signum: int = signal.SIGTERM) -> None:
        if self._stop_signal is None:
            self._stop_signal = signum

    def _install_signal_handlers(self) -> Dict[int, object]:
        previous: Dict[int, object] = {}
        if threading.current_thread() is not threading.main_thread():
            LOGGER.warning("Not on the main thread: SIGTERM/SIGINT are not forwarded to MMS")
            return previous
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, lambda s, _f: self.request_stop(s))
        return previous

    def run(self) -> int:
        """Block until MMS ends; returns one of the EXIT_* codes."""
        if self.process is None:
            self.start()
        previous = self._install_signal_handlers()
        try:
            return self._loop()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)  # type: ignore[arg-type]

    def _loop(self) -> int:
        assert self.process is not None
        while True:
            code = self._check_once()
            if code is not None:
                return code
            reap_zombies(keep=self.process.pid)
            time.sleep(self.poll_interval)

    def _check_once(self) -> Optional[int]:
        """One round of the watch: the EXIT_* code to end with, or None to keep serving."""
        for check in (
            self._stop_if_requested,
            self._java_exited,
            self._stop_on_load_failures,
            self._stop_on_dead_backend,
            self._watch_startup,
        ):
            code = check()
            if code is not None:
                return code
        return None

    def _stop_if_requested(self) -> Optional[int]:
        if self._stop_signal is None:
            return None
        LOGGER.info(
            "Received %s: stopping the model server", signal.Signals(self._stop_signal).name
        )
        self.stop(graceful=True)
        return EXIT_STOPPED

    def _java_exited(self) -> Optional[int]:
        assert self.process is not None
        code = self.process.poll()
        if code is None:
            return None
        LOGGER.error(
            "MMS's Java front end exited on its own with code %s; stopping its workers%s",
            code,
            self._worker_error_suffix(),
        )
        self._cleanup()
        return EXIT_MMS_DIED

    def _stop_on_load_failures(self) -> Optional[int]:
        failures = self._load_failures()
        if not failures or len(failures) < self.max_load_failures:
            return None
        LOGGER.error(
            "The model failed to load %d times (SAGEMAKER_MAX_LOAD_FAILURES=%d); "
            "stopping. Last failure: %s",
            len(failures),
            self.max_load_failures,
            failures[-1],
        )
        self.stop(graceful=False)
        LOGGER.error("Model failed to load: %s", failures[-1])
        return EXIT_LOAD_FAILED

    def _stop_on_dead_backend(self) -> Optional[int]:
        dead = self._check_backends()
        if not dead:
            return None
        LOGGER.error(
            "The Python backend of model %r died and MMS does not restart it; "
            "stopping so the platform replaces this server%s",
            dead,
            self._worker_error_suffix(),
        )
        self.stop(graceful=False)
        return EXIT_BACKEND_DIED

    def _watch_startup(self) -> Optional[int]:
        """Note when the inference port opens; give up after SAGEMAKER_STARTUP_TIMEOUT."""
        if self._serving:
            return None
        if port_open(self.inference_port):
            self._serving = True
            waited = time.monotonic() - self._started_at
            LOGGER.info("MMS listens on port %d after %.1f s", self.inference_port, waited)
        elif time.monotonic() - self._started_at > self.startup_timeout:
            LOGGER.error(
                "MMS did not open port %d within %s s (SAGEMAKER_STARTUP_TIMEOUT)%s",
                self.inference_port,
                self.startup_timeout,
                self._worker_error_suffix(),
            )
            self.stop(graceful=False)
            return EXIT_STARTUP_TIMEOUT
        return None

    def _load_failures(self) -> List[str]:
        """Single-model start-up failures: failed model_fn calls (recorded by the handler
        service) and workers that died before loading (an unimportable handler, say), the
        latter named by their last error line."""
        if self.multi_model:
            return []
        failures = count_lines(self.load_failure_file)
        deaths = self._startup_deaths()
        if deaths:
            failures += [mms_worker.last_error(self.worker_error_file) or "worker died"] * deaths
        return failures

    def _startup_deaths(self) -> int:
        """mms_worker.startup_deaths, read again only when the file changed (one stat a poll)."""
        try:
            stat = os.stat(self.worker_error_file) if self.worker_error_file else None
        except OSError:
            stat = None
        key = (stat.st_size, stat.st_mtime_ns) if stat else None
        if key != self._error_file_key:
            self._error_file_key = key
            self._deaths = mms_worker.startup_deaths(self.worker_error_file) if key else 0
        return self._deaths

    def _worker_error_suffix(self) -> str:
        line = mms_worker.last_error(self.worker_error_file)
        return ". Last worker error: {}".format(line) if line else ""

    # -- health --------------------------------------------------------------------------------
    def _check_backends(self) -> Optional[str]:
        """Name of a model whose backend disappeared for good (single-model mode), else None.

        Listing the JVM's children reads every /proc/<pid>/stat on the machine, so it runs only
        while no backend is known during startup, every ``discovery_interval`` seconds, when a
        known backend is gone, and before one is declared dead. Otherwise the known backends are
        checked one /proc entry each.
        """
        if self._java is None:
            return None
        now = time.monotonic()
        known_gone = any(not _alive(proc) for proc, _ in self._known.values())
        discovered = False
        if known_gone or now >= self._next_discovery or not (self._known or self._serving):
            if not self._discover_backends(now):
                return None
            discovered = True
        live = self._live_backends()
        expired = [
            name
            for name in self._backends
            if not live.get(name) and now - self._missing_since.get(name, now) >= self.backend_grace
        ]
        if expired and not discovered:  # look again before declaring a backend dead
            if not self._discover_backends(now):
                return None
            live = self._live_backends()
        for name in list(self._backends):
            if live.get(name):
                self._missing_since.pop(name, None)
                continue
            since = self._missing_since.setdefault(name, now)
            if now - since < self.backend_grace:
                continue
            del self._backends[name]
            self._missing_since.pop(name, None)
            if not self.multi_model:
                return name
            self._forget_dead_model(name)
        for name, pids in live.items():
            self._backends[name] = pids
        return None

    def _live_backends(self) -> Dict[str, Set[int]]:
        live: Dict[str, Set[int]] = {}
        for pid, (proc, name) in self._known.items():
            if _alive(proc):
                live.setdefault(name, set()).add(pid)
        return live

    def _discover_backends(self, now: float) -> bool:
        """Refresh ``_known`` from the JVM's children; False when they cannot be listed."""
        assert self._java is not None
        try:
            children = self._java.children()
        except psutil.Error:
            return False
        known: Dict[int, Tuple[psutil.Process, str]] = {}
        for child in children:
            if not _is_worker(child) or not _alive(child):
                continue
            try:
                name = _model_name(child.cmdline())
            except psutil.Error:
                continue
            known[child.pid] = (child, name)
            self._seen.setdefault(child.pid, child)
            try:
                for grandchild in child.children():
                    self._seen.setdefault(grandchild.pid, grandchild)
            except psutil.Error:
                pass
        self._known = known
        self._next_discovery = now + self.discovery_interval
        return True

    def _forget_dead_model(self, name: str) -> None:
        """Multi-model: unregister a model whose backend died so the platform loads it again."""
        if not self.management_url:
            return
        # Imported on this rare path only: urllib.request costs every server start ~15 ms.
        import urllib.error
        import urllib.request

        url = "{}/models/{}".format(self.management_url.rstrip("/"), name)
        try:
            urllib.request.urlopen(url, timeout=5).close()
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return  # unloaded on purpose
        except OSError:
            return
        LOGGER.error("The Python backend of model %r died; unregistering it", name)
        try:
            request = urllib.request.Request(url, method="DELETE")
            urllib.request.urlopen(request, timeout=30).close()
        except OSError as exc:
            LOGGER.error("Could not unregister model %r: %s", name, exc)

    # -- stopping ------------------------------------------------------------------------------
    def _drain(self, deadline: float) -> None:
        """Wait for in-flight requests to finish, at most until ``deadline``."""
        if self._java is None:
            return
        quiet = 0
        while time.monotonic() < deadline and _alive(self._java):
            busy = busy_workers(self._java)
            if busy is None:
                busy = open_connections(self._java, self.inference_port)
            quiet = quiet + 1 if busy == 0 else 0
            if quiet >= 2:
                return
            time.sleep(0.1)
        if time.monotonic() >= deadline:
            LOGGER.warning("Grace period over with requests still running; stopping anyway")

    def _let_java_drain(self, deadline: float) -> None:
        """SIGTERM the patched JVM, which answers 503 to new requests, finishes the ones it has
        and exits; kill it if it is still running at ``deadline``."""
        assert self.process is not None
        self._snapshot()
        try:
            self.process.send_signal(signal.SIGTERM)
        except OSError:
            return
        try:
            code = self.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            LOGGER.info("MMS answered its in-flight requests and exited with code %s", code)
        except subprocess.TimeoutExpired:
            LOGGER.warning("Grace period over with requests still running; stopping anyway")
            self.process.kill()

    def stop(self, graceful: bool = True) -> None:
        """Stop the JVM (after draining when graceful) and every process it started."""
        if self.process is None:
            return
        start = time.monotonic()
        if graceful and self.java_drains and self.process.poll() is None:
            self._let_java_drain(start + self.grace_seconds)
        elif graceful and self.process.poll() is None:
            self._drain(start + self.grace_seconds)
        if self.process.poll() is None:
            self._snapshot()
            try:
                self.process.send_signal(signal.SIGTERM)
            except OSError:
                pass
            try:
                self.process.wait(timeout=5 if graceful else 3)
            except subprocess.TimeoutExpired:
                LOGGER.warning("MMS did not stop within its time; killing it")
        self._cleanup()
        LOGGER.info("Model server stopped in %.1f s", time.monotonic() - start)

    def _snapshot(self) -> None:
        if self._java is None:
            return
        try:
            for proc in self._java.children(recursive=True):
                self._seen.setdefault(proc.pid, proc)
        except psutil.Error:
            pass

    def _cleanup(self) -> None:
        assert self.process is not None
        known = [proc for proc in self._seen.values()]
        if self._java is not None:
            known.append(self._java)
        killed = terminate_tree(self.process.pid, known)
        if killed:
            LOGGER.info("Killed %d leftover MMS process(es): %s", len(killed), killed)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

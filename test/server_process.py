"""Start, watch and stop a server process: the one process control of the tests and benchmarks.

Standard library only, so that ``python benchmarks/run.py`` (any python 3.9+) can use it as
well as the integration tests (test/integration/server_harness.py builds on it) and the
benchmark scripts. test/ is on sys.path in a pytest session because test/conftest.py is there;
benchmarks/suite/__init__.py puts it there for the benchmarks.

A server process carries a marker in its environment (``marker_env=<uuid>``) that every process
it starts inherits, Java included (it runs in a session of its own): that is how what it left
behind is found and killed. ``deployed_environment`` is the shape a SageMaker framework image
gives the entry process; every wait polls a condition until a deadline.
"""

import atexit
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence

# What a JDK has and a Java runtime image (openjdk-*-jre-headless) does not.
JDK_ONLY_TOOLS = ("javac", "jar", "jarsigner", "javadoc", "jshell", "jlink", "jdeps", "jmod")
# MMS 1.1 rejects ports above 32767; the kernel's ephemeral range starts above it.
PORT_RANGE = (20000, 32000)
_JRE_SHAPE: Dict[str, str] = {}
SIGTERM = signal.SIGTERM  # (ServerProcess.signal hides the module in the class body)
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class ProcessExited(RuntimeError):
    """The watched process ended before the condition held."""


class WaitTimeout(RuntimeError):
    """The condition did not hold before the deadline."""


def wait_for(
    condition: Callable[[], object],
    timeout: float,
    interval: float = 0.1,
    process: Optional[subprocess.Popen] = None,
) -> float:
    """Poll ``condition`` until it is true; the seconds waited.

    An ``OSError`` from the condition (a refused connection; urllib's and requests' errors are
    OSErrors) counts as false. Raises ProcessExited when ``process`` ends first, WaitTimeout
    after ``timeout`` seconds.
    """
    started = time.monotonic()
    deadline = started + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise ProcessExited("the process exited with %s" % process.returncode)
        try:
            if condition():
                return time.monotonic() - started
        except OSError:
            pass
        if time.monotonic() >= deadline:
            raise WaitTimeout("not true within %.0f s" % timeout)
        time.sleep(interval)


def free_port() -> int:
    """A port nobody listens on now, on any interface, in PORT_RANGE."""
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(*PORT_RANGE)
        with socket.socket() as sock:
            try:
                sock.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in %d-%d" % PORT_RANGE)


def marked_pids(name: str, value: str) -> List[int]:
    """Live (not zombie) processes, this one excluded, whose environment has ``name=value``."""
    needle = ("%s=%s" % (name, value)).encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open("/proc/%s/environ" % entry, "rb") as handle:
                environ = handle.read()
            with open("/proc/%s/stat" % entry, "rb") as handle:
                state = handle.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != b"Z" and needle in environ.split(b"\0"):
            found.append(int(entry))
    return found


def kill_marked(name: str, value: str, timeout: float = 2.0) -> List[int]:
    """SIGKILL every process marked ``name=value`` until none is left or ``timeout`` passes;
    the ones still there."""
    deadline = time.monotonic() + timeout
    pids = marked_pids(name, value)
    while pids and time.monotonic() < deadline:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.1)
        pids = marked_pids(name, value)
    return pids


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a live process has used (0 when it is gone)."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def command_line(pid: int) -> List[bytes]:
    """argv of a live process ([] when it is gone)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return handle.read().split(b"\0")
    except OSError:
        return []


def jre_only_shape() -> Dict[str, str]:
    """PATH and JAVA_HOME as a framework image has them: java, and no javac anywhere.

    Made once per process in a temporary directory (removed at exit): a JAVA_HOME whose bin/
    holds only java, and a PATH directory linking every command of this machine's PATH but the
    JDK's. Raises RuntimeError when there is no java on PATH.
    """
    if _JRE_SHAPE:
        return dict(_JRE_SHAPE)
    java = shutil.which("java")
    if java is None:
        raise RuntimeError("no java on PATH: install openjdk-17-jre-headless")
    root = tempfile.mkdtemp(prefix="smi-jre-")
    atexit.register(shutil.rmtree, root, True)
    java_home_bin = os.path.join(root, "jre", "bin")
    path_dir = os.path.join(root, "bin")
    os.makedirs(java_home_bin)
    os.makedirs(path_dir)
    os.symlink(os.path.realpath(java), os.path.join(java_home_bin, "java"))
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for name in os.listdir(directory):
            target = os.path.join(path_dir, name)
            source = os.path.join(directory, name)
            if name in JDK_ONLY_TOOLS or os.path.lexists(target) or not os.access(source, os.X_OK):
                continue
            os.symlink(source, target)
    _JRE_SHAPE.update({"PATH": path_dir, "JAVA_HOME": os.path.join(root, "jre")})
    return dict(_JRE_SHAPE)


def deployed_environment(
    root: str, port: int, base_dir: str, jre_only: bool = True, extra: Mapping[str, str] = ()
) -> Dict[str, str]:
    """The environment of a framework image's entry process, plus what a shared machine needs.

    No SAGEMAKER_ tuning variable and no PYTHONPATH from this process; a Java runtime without a
    JDK (unless ``jre_only`` is false); an empty HOME and a TMPDIR under ``root``. The only
    SAGEMAKER_ variables say why SageMaker would not set them: /opt/ml and port 8080 are not
    ours to use on a test machine, we talk to 127.0.0.1 only (a container binds every
    interface), and run as root the default config file is /etc/sagemaker-mms.properties,
    outside our temporary directories. ``extra`` comes last.
    """
    tmp, home = os.path.join(root, "tmp"), os.path.join(root, "home")
    os.makedirs(tmp, exist_ok=True)
    os.makedirs(home, exist_ok=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SAGEMAKER_") and key not in ("PYTHONPATH", "CA_REPOSITORY_ARN")
    }
    if jre_only:
        env.update(jre_only_shape())
    env.update(
        {
            # A container starts with empty caches: nothing may depend on HOME's contents.
            "HOME": home,
            "SAGEMAKER_BASE_DIR": base_dir,
            "SAGEMAKER_BIND_TO_PORT": str(port),
            "SAGEMAKER_BIND_ADDRESS": "127.0.0.1",
            "SAGEMAKER_MMS_CONFIG_FILE": os.path.join(root, "sagemaker-mms.properties"),
            "TMPDIR": tmp,
            # MMS's own launcher (used by container-style starts) passes TEMP to Java as
            # java.io.tmpdir, where the worker sockets live: keep them apart per server.
            "TEMP": tmp,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def start_model_server_argv(python: str, handler: str = "") -> List[str]:
    """``python -c`` running ``start_model_server(handler)`` as a container's entrypoint does."""
    args = repr(handler) if handler else ""
    script = (
        "import sys\n"
        "from sagemaker_inference import model_server\n"
        "sys.exit(model_server.start_model_server({}))\n".format(args)
    )
    return [python, "-c", script]


@dataclass
class StopTiming:
    """How a process went down after the signal: seconds until the process we started exited
    and until every process it started was gone (None: not within the cap)."""

    exit_seconds: Optional[float]
    gone_seconds: Optional[float]
    leftovers: int
    exit_code: Optional[int]


class ServerProcess:
    """One server process in a session of its own, marked, its output in a file or in lines.

    With ``log_path`` the output goes to that file; without, a thread collects it in ``lines``.
    ``marker`` (default: a new uuid) is the value of ``marker_env`` in its environment.
    """

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        cwd: str,
        marker_env: str,
        log_path: Optional[str] = None,
        marker: Optional[str] = None,
    ):
        self.argv = list(argv)
        self.marker_env = marker_env
        self.marker = marker or uuid.uuid4().hex
        self.log_path = log_path
        self.lines: List[str] = []
        self.started_at = time.monotonic()
        output = open(log_path, "wb") if log_path else subprocess.PIPE
        try:
            self.process = subprocess.Popen(
                self.argv,
                env=dict(env, **{marker_env: self.marker}),
                cwd=cwd,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            if log_path:
                output.close()
        self._reader: Optional[threading.Thread] = None
        if not log_path:
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()

    def _read(self) -> None:
        for raw in iter(self.process.stdout.readline, b""):
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def output(self) -> str:
        """Everything the process printed so far."""
        if self.log_path is None:
            return "\n".join(self.lines)
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def pids(self) -> List[int]:
        """Live processes carrying this server's marker (the one we started included)."""
        return marked_pids(self.marker_env, self.marker)

    def wait_until(self, condition: Callable[[], object], timeout: float, interval=0.1) -> float:
        """``wait_for`` the condition while this process lives; seconds since the start."""
        wait_for(condition, timeout, interval, process=self.process)
        return time.monotonic() - self.started_at

    def signal(self, signum: int, group: bool = False) -> None:
        """Send ``signum`` to the process we started, or with ``group`` to its session."""
        try:
            if group:
                os.killpg(self.process.pid, signum)
            else:
                self.process.send_signal(signum)
        except OSError:
            pass

    def wait(self, timeout: float) -> int:
        """The exit code, once the process ended (subprocess.TimeoutExpired after timeout)."""
        code = self.process.wait(timeout=timeout)
        if self._reader is not None:
            self._reader.join(timeout=5)
        return code

    def stop(self, cap: float, signum: int = SIGTERM) -> StopTiming:
        """Signal the process (as the platform does), time the way down for up to ``cap``
        seconds, then kill whatever is left."""
        sent = time.monotonic()
        self.signal(signum)
        exited = gone = None
        deadline = sent + cap
        while time.monotonic() < deadline:
            if exited is None and self.process.poll() is not None:
                exited = time.monotonic() - sent
            if exited is not None and not self.pids():
                gone = time.monotonic() - sent
                break
            time.sleep(0.05)
        timing = StopTiming(exited, gone, len(self.pids()), self.process.poll())
        self.kill()
        return timing

    def kill(self) -> List[int]:
        """SIGKILL the process and everything it started; the pids that survived."""
        left = kill_marked(self.marker_env, self.marker)
        try:
            self.process.kill()
        except OSError:
            pass
        try:
            self.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        return left

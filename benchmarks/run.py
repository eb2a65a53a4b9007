#!/usr/bin/env python3
"""Side-by-side benchmark: this project vs sagemaker-inference 1.10.1, a no-toolkit MMS floor,
the ceiling of the project's own front end, and FastAPI, TorchServe and MLServer.

    python benchmarks/run.py            # full run (about 25 minutes on 2 cores)
    python benchmarks/run.py --quick    # development run (about 6 minutes)
    python benchmarks/run.py --quick --skip-e2e     # the codecs only (about 3 minutes)
    python benchmarks/run.py --quick --skip-codecs --only project,fastapi   # a few stacks

Builds what it needs under benchmarks/.work/ (virtual environments, model, bodies; wrk through
apt-get when missing), measures codecs in-process, end-to-end throughput and latency through the
real Java MMS on 127.0.0.1, cold start and shutdown, prints the tables and writes
benchmarks/RESULTS.md. Only the standard library is needed to run this file; the peers' own
code is in benchmarks/peers.py.
"""

import argparse
import array
import ast
import datetime
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import peers

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
WORK = os.path.join(HERE, ".work")
RESULTS_MD = os.path.join(HERE, "RESULTS.md")
OLD_VENV = os.path.join(WORK, "venv-1.10.1")
PROJECT_VENV = os.path.join(WORK, "venv-project")
MODEL_BASE = os.path.join(WORK, "opt_ml")
MODEL_DIR = os.path.join(MODEL_BASE, "model")
BODY_DIR = os.path.join(WORK, "bodies")
OLD_REQUIREMENTS = ["sagemaker-inference==1.10.1", "multi-model-server==1.1.11"]
BASE_STACKS = ("floor", "1.10.1", "project", "project-stdlib")
# project-cds: the project with an AppCDS archive of MMS's classes (SAGEMAKER_MMS_CDS_ARCHIVE),
# built before the run by the explicit `python -m sagemaker_inference.cds`; cold start only.
COLD_ONLY = ("project-cds",)
STACKS = BASE_STACKS + COLD_ONLY + peers.PEER_STACKS
DEFAULT_STACKS = "floor,1.10.1,project,project-cds,ceiling,fastapi,torchserve,mlserver"
CDS_ARCHIVE = os.path.join(WORK, "mms-classes.jsa")
TOKEN_VAR = "SM_BENCH_TOKEN"
WRK_CONNECTIONS = 4
SLOW_FEATURES = 24  # benchmarks/model_code/inference.py burns 2 ms of CPU for this width

# name -> (file, content type, accept, rows, columns)
BODIES = {
    "JSON 1x16": ("json_1x16.json", "application/json", "application/json", 1, 16),
    "CSV 100x16": ("csv_100x16.csv", "text/csv", "text/csv", 100, 16),
    "NPY 1000x32": ("npy_1000x32.npy", "application/x-npy", "application/x-npy", 1000, 32),
    "JSON 1x24, 2 ms predict": (
        "json_1x24.json",
        "application/json",
        "application/json",
        1,
        SLOW_FEATURES,
    ),
}
FAST_BODIES = ["JSON 1x16", "CSV 100x16", "NPY 1000x32"]
SLOW_BODY = "JSON 1x24, 2 ms predict"

PROFILES = {
    "full": dict(
        rounds=2,
        extra_cold=1,
        jit_warmup=5,
        warmup=2,
        duration=7,
        codec_repeats=5,
        codec_min_seconds=0.1,
        shutdown_cap=10,
        handler_requests=2000,
    ),
    "quick": dict(
        rounds=1,
        extra_cold=1,
        jit_warmup=2,
        warmup=1,
        duration=2,
        codec_repeats=3,
        codec_min_seconds=0.02,
        shutdown_cap=5,
        handler_requests=200,
    ),
}

_started_tokens = set()


def log(message: str) -> None:
    stamp = datetime.datetime.now().strftime("%H:%M:%S")
    print("[%s] %s" % (stamp, message), flush=True)


def run(cmd, **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("check", True)
    return subprocess.run(cmd, **kwargs)


# ---------------------------------------------------------------- setup


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    log("installing wrk with apt-get")
    run(["apt-get", "update", "-qq"], stdout=subprocess.DEVNULL)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "install", "-y", "-qq", "wrk"], stdout=subprocess.DEVNULL, env=env)
    return shutil.which("wrk") or "/usr/bin/wrk"


def _venv_python(venv: str) -> str:
    return os.path.join(venv, "bin", "python")


def ensure_venv(venv: str, requirements, marker_sources=()) -> str:
    """Creates venv and pip-installs requirements unless its marker is newer than the sources."""
    python = _venv_python(venv)
    marker = os.path.join(venv, ".bench-installed")
    wanted = json.dumps(list(requirements))
    fresh = os.path.exists(marker)
    if fresh:
        with open(marker) as handle:
            fresh = handle.read() == wanted
    if fresh:
        stamp = os.path.getmtime(marker)
        fresh = all(os.path.getmtime(src) <= stamp for src in marker_sources)
    if fresh:
        return python
    if not os.path.exists(python):
        log("creating virtual environment %s" % os.path.relpath(venv, REPO))
        run([sys.executable, "-m", "venv", venv])
    log("pip install %s" % " ".join(requirements))
    run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements])
    with open(marker, "w") as handle:
        handle.write(wanted)
    return python


def prepare_model_and_bodies(project_python: str) -> None:
    """Writes the model directory and request bodies (numpy does the work in a venv)."""
    code_dir = os.path.join(MODEL_DIR, "code")
    os.makedirs(code_dir, exist_ok=True)
    os.makedirs(BODY_DIR, exist_ok=True)
    shutil.copyfile(
        os.path.join(HERE, "model_code", "inference.py"), os.path.join(code_dir, "inference.py")
    )
    spec = {name: list(value) for name, value in BODIES.items()}
    script = r"""
import io, json, os, sys
import numpy as np
model_dir, body_dir, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
rng = np.random.default_rng(3)
np.save(os.path.join(model_dir, "w.npy"), rng.standard_normal((32, 4)))
for name, (filename, content_type, accept, rows, cols) in spec.items():
    array = rng.random((rows, cols))
    if content_type == "application/json":
        data = json.dumps(array.tolist()).encode()
    elif content_type == "text/csv":
        data = ("\n".join(",".join(repr(v) for v in row) for row in array.tolist())).encode()
    else:
        buffer = io.BytesIO()
        np.save(buffer, array)
        data = buffer.getvalue()
    with open(os.path.join(body_dir, filename), "wb") as handle:
        handle.write(data)
    expected = array @ np.load(os.path.join(model_dir, "w.npy"))[:cols]
    with open(os.path.join(body_dir, filename + ".expected.json"), "w") as handle:
        json.dump(expected.tolist(), handle)
"""
    run([project_python, "-c", script, MODEL_DIR, BODY_DIR, json.dumps(spec)])


def machine_info(project_python: str, old_python: str, wrk: str) -> dict:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass

    def first_line(cmd):
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            text = (done.stdout or done.stderr).strip()
            return text.splitlines()[0] if text else "?"
        except (OSError, subprocess.SubprocessError):
            return "?"

    mms_version = "import importlib.metadata as m; print(m.version('multi-model-server'))"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": first_line(["nproc"]),
        "cpu": cpu,
        "kernel": platform.release(),
        "python": first_line([project_python, "-c", "import sys; print(sys.version.split()[0])"]),
        "python_1.10.1": first_line(
            [old_python, "-c", "import sys; print(sys.version.split()[0])"]
        ),
        "numpy": first_line([project_python, "-c", "import numpy; print(numpy.__version__)"]),
        "java": first_line(["java", "-version"]),
        "mms": first_line([project_python, "-c", mms_version]),
        "wrk": first_line([wrk, "-v"]),
        "loadavg": (
            open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else []
        ),
    }


def build_cds_archive(project_python: str) -> None:
    """The explicit image-build step of the project-cds stack (never on its start path)."""
    for stale in (CDS_ARCHIVE, CDS_ARCHIVE + ".key"):
        if os.path.exists(stale):
            os.remove(stale)
    log("building the AppCDS archive: python -m sagemaker_inference.cds %s" % CDS_ARCHIVE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAGEMAKER_")}
    env["TMPDIR"] = os.path.join(WORK, "state")
    os.makedirs(env["TMPDIR"], exist_ok=True)
    run([project_python, "-m", "sagemaker_inference.cds", CDS_ARCHIVE], env=env, cwd=WORK)


def provision_peers(only) -> dict:
    """Installs each selected peer's virtual environment (and TorchServe's model archive).

    Returns {stack: reason} for peers that could not be installed; they are reported as such.
    """
    unavailable = {}
    for stack in only:
        if stack not in peers.VENVS:
            continue
        venv, requirements = peers.VENVS[stack]
        try:
            ensure_venv(venv, requirements)
            if stack == "torchserve":
                peers.build_torchserve_archive(MODEL_DIR, run)
        except (subprocess.CalledProcessError, OSError) as exc:
            unavailable[stack] = "could not be installed here: %s" % exc
            log("  %s: %s" % (stack, unavailable[stack]))
    return unavailable


def peer_versions(only) -> dict:
    """Installed versions of the peers' main packages, by stack."""
    packages = {
        "fastapi": ["fastapi", "uvicorn", "uvloop", "httptools"],
        "torchserve": ["torchserve", "torch-model-archiver", "torch"],
        "mlserver": ["mlserver", "uvicorn"],
    }
    code = (
        "import sys, importlib.metadata as m\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n        print(name, m.version(name))\n"
        "    except m.PackageNotFoundError:\n        print(name, 'absent')\n"
    )
    versions = {}
    for stack in only:
        if stack in packages:
            python = _venv_python(peers.VENVS[stack][0])
            done = subprocess.run(
                [python, "-c", code, *packages[stack]], capture_output=True, text=True
            )
            versions[stack] = " ".join(done.stdout.split())
    return versions


# ---------------------------------------------------------------- codecs


def run_codecs(label: str, python: str, profile: dict, block=(), formats=None) -> dict:
    cmd = [
        python,
        os.path.join(HERE, "codec_runner.py"),
        "--toolkit",
        label,
        "--repeats",
        str(profile["codec_repeats"]),
        "--min-seconds",
        str(profile["codec_min_seconds"]),
    ]
    for name in block:
        cmd += ["--block", name]
    if formats:
        cmd += ["--formats", ",".join(formats)]
    log("codecs: %s %s" % (label, ",".join(formats or ["all formats"])))
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=WORK, timeout=600)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["exit %d" % done.returncode])[-1]}
    return json.loads(done.stdout)


def run_all_codecs(old_python: str, project_python: str, profile: dict) -> dict:
    """One format at a time, the three runners alternately, so load spikes hit all of them."""
    runners = [
        ("1.10.1", old_python, ()),
        ("project", project_python, ()),
        ("project-stdlib", project_python, ("orjson",)),
    ]
    codecs = {label: {"results": []} for label, _, _ in runners}
    for index, fmt in enumerate(["json", "csv", "npy", "jsonl"]):
        order = runners if index % 2 == 0 else runners[::-1]
        for label, python, block in order:
            data = run_codecs(label, python, profile, block=block, formats=[fmt])
            if "error" in data:
                codecs[label]["error"] = data["error"]
                continue
            codecs[label]["results"] += data["results"]
    return codecs


# ---------------------------------------------------------------- process handling


def processes_with_token(token: str) -> list:
    """PIDs whose environment carries SM_BENCH_TOKEN=token (every descendant inherits it)."""
    needle = ("%s=%s" % (TOKEN_VAR, token)).encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % entry, "rb") as handle:
                environ = handle.read()
            with open("/proc/%s/stat" % entry, "rb") as handle:
                state = handle.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if state != b"Z" and needle in environ.split(b"\0"):
            found.append(int(entry))
    return found


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(token: str) -> dict:
    """User+system CPU seconds of the token's live processes: java, MMS workers, the rest."""
    totals = {"java": 0.0, "python": 0.0, "other": 0.0}
    for pid in processes_with_token(token):
        try:
            with open("/proc/%d/stat" % pid, "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            with open("/proc/%d/cmdline" % pid, "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:
            continue
        if os.path.basename(argv[0]) == b"java":
            kind = "java"
        elif any(b"model_service_worker" in arg for arg in argv):
            kind = "python"
        else:
            kind = "other"
        totals[kind] += (int(fields[11]) + int(fields[12])) / _TICKS
    return totals


def kill_token(token: str) -> None:
    for _ in range(20):
        pids = processes_with_token(token)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.1)


def cleanup_all() -> list:
    leftovers = []
    for token in list(_started_tokens):
        kill_token(token)
        leftovers += processes_with_token(token)
    return leftovers


def free_port() -> int:
    """A port nobody uses now; MMS rejects ports above 32767, so not the kernel's ephemeral ones."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20000, 32000)
        with socket.socket() as sock:
            try:
                sock.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found")


def http(method: str, url: str, body: bytes = None, headers=None, timeout: float = 5.0):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError):
        return None, b""


class Server:
    """One running stack: the process we started, its token, port and timings."""

    def __init__(self, stack: str, cmd, env: dict, cwd: str, port: int, log_path: str, mgmt=None):
        self.stack = stack
        self.port = port
        self.management_url = "http://127.0.0.1:%d" % (mgmt or port)
        self.token = uuid.uuid4().hex
        env = dict(env)
        env[TOKEN_VAR] = self.token
        _started_tokens.add(self.token)
        self.log_handle = open(log_path, "wb")
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            cmd,
            env=env,
            cwd=cwd,
            stdout=self.log_handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.ready_seconds = None

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.port

    def wait_ready(self, timeout: float = 120.0) -> float:
        """Seconds from process start to the first 200 for a JSON 1x16 prediction."""
        with open(os.path.join(BODY_DIR, BODIES["JSON 1x16"][0]), "rb") as handle:
            body = handle.read()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            status, _ = http("POST", self.url + "/invocations", body, headers, timeout=2.0)
            if status == 200:
                self.ready_seconds = time.monotonic() - self.started
                return self.ready_seconds
            if self.process.poll() is not None:
                raise RuntimeError(
                    "%s exited with %s before serving" % (self.stack, self.process.returncode)
                )
            time.sleep(0.05)
        raise RuntimeError("%s not ready after %.0f s" % (self.stack, timeout))

    def model_name(self) -> str:
        status, body = http("GET", self.management_url + "/models")
        if status == 200:
            models = json.loads(body).get("models") or []
            if models:
                return models[0]["modelName"]
        return "model"

    def scale_workers(self, workers: int, timeout: float = 60.0) -> None:
        name = self.model_name()
        query = "min_worker=%d&max_worker=%d&synchronous=true" % (workers, workers)
        url = "%s/models/%s?%s" % (self.management_url, name, query)
        status, body = http("PUT", url, timeout=timeout)
        if status not in (200, 202):
            raise RuntimeError(
                "scaling %s to %d workers: %s %r" % (self.stack, workers, status, body)
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, body = http("GET", "%s/models/%s" % (self.management_url, name))
            if status == 200:
                described = json.loads(body)
                if isinstance(described, list):
                    described = described[0]
                ready = [w for w in described.get("workers", []) if w.get("status") == "READY"]
                if len(ready) >= workers:
                    return
            time.sleep(0.2)
        raise RuntimeError("%s: %d workers not ready in %.0f s" % (self.stack, workers, timeout))

    def stop(self, cap: float) -> dict:
        """SIGTERM to the process we started (as the platform does), then time the way down."""
        sent = time.monotonic()
        result = {"exit_seconds": None, "gone_seconds": None, "leftovers": 0}
        try:
            self.process.send_signal(signal.SIGTERM)
        except OSError:
            pass
        deadline = sent + cap
        while time.monotonic() < deadline:
            if result["exit_seconds"] is None and self.process.poll() is not None:
                result["exit_seconds"] = time.monotonic() - sent
            if result["exit_seconds"] is not None and not processes_with_token(self.token):
                result["gone_seconds"] = time.monotonic() - sent
                break
            time.sleep(0.05)
        result["leftovers"] = len(processes_with_token(self.token))
        result["exit_code"] = self.process.poll()
        kill_token(self.token)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.log_handle.close()
        if not processes_with_token(self.token):
            _started_tokens.discard(self.token)
        return result


class Stacks:
    """Knows how to start each of the three stacks with a given worker count."""

    def __init__(self, project_python: str, old_python: str):
        self.project_python = project_python
        self.old_python = old_python
        code = "import os, mms; print(os.path.dirname(os.path.dirname(os.path.realpath(%s))))"
        code %= "mms.__file__"
        self.mms_home = run(
            [project_python, "-c", code], capture_output=True, text=True
        ).stdout.strip()
        self.counter = 0
        self.project_env = {}

    def _state_dir(self, stack: str) -> str:
        self.counter += 1
        path = os.path.join(WORK, "state", "%s-%02d" % (stack.replace(".", "_"), self.counter))
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(os.path.join(path, "tmp"))
        os.makedirs(os.path.join(path, "logs"))
        return path

    def _base_env(self, state: str, port: int, workers: int) -> dict:
        env = dict(os.environ)
        for key in list(env):
            if key.startswith("SAGEMAKER_") or key in ("PYTHONPATH", "VIRTUAL_ENV"):
                del env[key]
        env.update(
            TMPDIR=os.path.join(state, "tmp"),
            LOG_LOCATION=os.path.join(state, "logs"),
            METRICS_LOCATION=os.path.join(state, "logs"),
            SAGEMAKER_BASE_DIR=MODEL_BASE,
            SAGEMAKER_BIND_TO_PORT=str(port),
            SAGEMAKER_MODEL_SERVER_WORKERS=str(workers),
        )
        return env

    def start(self, stack: str, workers: int) -> Server:
        port = free_port()
        state = self._state_dir(stack)
        env = self._base_env(state, port, workers)
        log_path = os.path.join(state, "server.log")
        mgmt = None
        if stack == "floor":
            cmd = self._floor_command(state, port, workers)
            env["PYTHONPATH"] = HERE
        elif stack == "1.10.1":
            env["PATH"] = os.path.join(OLD_VENV, "bin") + os.pathsep + env.get("PATH", "")
            cmd = [self.old_python, os.path.join(HERE, "launch_old.py"), "--state-dir", state]
        elif stack in ("fastapi", "torchserve", "mlserver"):
            started = peers.command(stack, state, port, workers, MODEL_DIR, free_port)
            cmd = started["cmd"]
            env.update(started["env"])
            mgmt = started["management_port"]
        else:
            bin_dir = os.path.dirname(self.project_python)
            env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
            env["SAGEMAKER_STATE_DIR"] = state
            env["SAGEMAKER_MMS_CONFIG_FILE"] = os.path.join(state, "sagemaker-mms.properties")
            mgmt = free_port()
            while mgmt == port:
                mgmt = free_port()
            env["SAGEMAKER_MANAGEMENT_PORT"] = str(mgmt)
            env.update(self.project_env)
            if stack == "project-stdlib":
                env["PYTHONPATH"] = os.path.join(HERE, "no_orjson")
            cmd = [self.project_python, os.path.join(HERE, "launch_project.py")]
            if stack == "ceiling":
                env["PYTHONPATH"] = HERE
                cmd += ["--handler-service", "ceiling_handler"]
            if stack == "project-cds":
                env["SAGEMAKER_MMS_CDS_ARCHIVE"] = CDS_ARCHIVE
        return Server(stack, cmd, env, state, port, log_path, mgmt)

    def _floor_command(self, state: str, port: int, workers: int) -> list:
        address = "http://127.0.0.1:%d" % port
        config = os.path.join(state, "floor.properties")
        with open(config, "w") as handle:
            handle.write(
                "inference_address=%s\nmanagement_address=%s\n"
                "default_workers_per_model=%d\ndefault_service_handler=floor_handler:handle\n"
                "decode_input_request=false\nasync_logging=true\n" % (address, address, workers)
            )
        return [
            "java",
            "-Dmodel_server_home=%s" % self.mms_home,
            "-Dlog4j.configurationFile=file://%s" % os.path.join(HERE, "floor-log4j2.xml"),
            "-cp",
            ".:%s" % os.path.join(self.mms_home, "mms", "frontend", "*"),
            "com.amazonaws.ml.mms.ModelServer",
            "--python",
            self.project_python,
            "-f",
            config,
            "-s",
            "/",
            "-m",
            "model=%s" % MODEL_DIR,
        ]


def _response_values(body: bytes, content_type: str) -> list:
    """Flat list of floats from a JSON, CSV or NPY (little-endian float64) response."""
    if content_type == "application/x-npy":
        header_len = int.from_bytes(body[8:10], "little")
        header = ast.literal_eval(body[10 : 10 + header_len].decode("latin-1"))
        if header["descr"] != "<f8" or header["fortran_order"]:
            raise ValueError("unexpected NPY header %r" % header)
        values = array.array("d")
        values.frombytes(body[10 + header_len :])
        return list(values)
    text = body.decode("utf-8")
    if content_type == "text/csv":
        return [float(cell) for line in text.split() for cell in line.split(",") if cell]

    def flatten(value):
        return [v for item in value for v in flatten(item)] if isinstance(value, list) else [value]

    return flatten(json.loads(text))


def stack_bodies(stack: str) -> list:
    """The bodies a stack is measured with: the peers answer the issue's two rows only."""
    if stack in peers.PEER_STACKS:
        return list(peers.PEER_BODIES)
    return FAST_BODIES + [SLOW_BODY]


def verify_predictions(server: "Server") -> None:
    """Each body's answer must be x @ W (guards against timing fast error pages); the ceiling's
    constant answer only has to be a 200."""
    for name in stack_bodies(server.stack):
        filename, content_type, accept, _, _ = BODIES[name]
        with open(os.path.join(BODY_DIR, filename), "rb") as handle:
            body = handle.read()
        with open(os.path.join(BODY_DIR, filename + ".expected.json")) as handle:
            expected = [v for row in json.load(handle) for v in row]
        headers = {"Content-Type": content_type, "Accept": accept}
        status, answer = http("POST", server.url + "/invocations", body, headers, timeout=10)
        if status != 200:
            raise RuntimeError(
                "%s: %s answered %s: %r" % (server.stack, name, status, answer[:200])
            )
        if server.stack == "ceiling":
            continue
        got = _response_values(answer, accept)
        if len(got) != len(expected) or any(
            abs(g - e) > 1e-9 * max(1.0, abs(e)) for g, e in zip(got, expected)
        ):
            raise RuntimeError("%s: wrong prediction for %s: %r" % (server.stack, name, got[:4]))


def run_handler_paths(stacks: "Stacks", only, profile: dict) -> dict:
    """CPU microseconds of Python per request, in-process, through MMS's Service.predict."""
    handlers = {
        "floor": (stacks.project_python, "floor_handler:handle", HERE),
        "1.10.1": (stacks.old_python, "sagemaker_inference.default_handler_service", ""),
        "project": (stacks.project_python, "sagemaker_inference.default_handler_service", ""),
        "project-stdlib": (
            stacks.project_python,
            "sagemaker_inference.default_handler_service",
            os.path.join(HERE, "no_orjson"),
        ),
    }
    results = {}
    for stack in [s for s in only if s in handlers]:
        python, handler, path = handlers[stack]
        env = dict(os.environ, SAGEMAKER_BASE_DIR=MODEL_BASE, PYTHONPATH=path)
        env.pop("SAGEMAKER_LOAD_FAILURE_FILE", None)
        cmd = [python, os.path.join(HERE, "handler_runner.py"), "--handler", handler]
        cmd += ["--model-dir", MODEL_DIR, "--body-dir", BODY_DIR, "--label", stack]
        cmd += ["--requests", str(profile["handler_requests"]), "--repeats", "3"]
        log("request path in-process: %s" % stack)
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=WORK, timeout=600)
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["exit %d" % done.returncode])[-1]
            results[stack] = {"error": tail}
            continue
        results[stack] = json.loads(done.stdout.strip().splitlines()[-1])
    return results


# ---------------------------------------------------------------- load


def run_wrk(wrk: str, url: str, body_name: str, seconds: float) -> dict:
    filename, content_type, accept, _, _ = BODIES[body_name]
    cmd = [
        wrk,
        "-t1",
        "-c%d" % WRK_CONNECTIONS,
        "-d%ds" % max(1, int(round(seconds))),
        "--timeout",
        "5s",
        "-s",
        os.path.join(HERE, "post.lua"),
        url + "/invocations",
        "--",
        os.path.join(BODY_DIR, filename),
        content_type,
        accept,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    for line in done.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            data = json.loads(line[len("WRK_JSON ") :])
            data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
            data["errors"] = sum(
                data[k]
                for k in ("non2xx", "connect_errors", "read_errors", "write_errors", "timeouts")
            )
            return data
    raise RuntimeError("wrk printed no summary: %s %s" % (done.stdout[-300:], done.stderr[-300:]))


def wrk_command_text() -> str:
    return (
        "wrk -t1 -c%d -d<duration>s --timeout 5s -s benchmarks/post.lua "
        "http://127.0.0.1:<port>/invocations -- <body file> <content type> <accept>"
        % WRK_CONNECTIONS
    )


def measure_server(server: Server, wrk: str, profile: dict, first: bool, counts=(1, 2)) -> dict:
    """All end-to-end cases on one running server: 1 worker, then scaled to 2 through the
    management API (``counts`` names the worker counts to measure on this server)."""
    results = {}
    if first:
        run_wrk(wrk, server.url, "JSON 1x16", profile["jit_warmup"])
    for workers in counts:
        if workers == 2 and counts[0] == 1:
            server.scale_workers(2)
        for body in stack_bodies(server.stack):
            run_wrk(wrk, server.url, body, profile["warmup"])
            before = cpu_seconds(server.token)
            data = run_wrk(wrk, server.url, body, profile["duration"])
            after = cpu_seconds(server.token)
            for kind in ("java", "python", "other"):
                spent = after.get(kind, 0.0) - before.get(kind, 0.0)
                data["%s_cpu_us" % kind] = spent / max(1, data["requests"]) * 1e6
            results["%s|%d" % (body, workers)] = data
            log(
                "  %-8s %-26s w=%d  %8.1f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %d"
                "  cpu/req java %4.0f us python %4.0f us"
                % (
                    server.stack,
                    body,
                    workers,
                    data["rps"],
                    data["p50_us"] / 1000,
                    data["p99_us"] / 1000,
                    data["errors"],
                    data["java_cpu_us"],
                    data["python_cpu_us"],
                )
            )
    return results


def stack_order(round_index: int) -> list:
    order = list(STACKS)
    return order if round_index % 2 == 0 else order[::-1]


def run_end_to_end(stacks: Stacks, wrk: str, profile: dict, only) -> dict:
    e2e = {stack: [] for stack in only}
    cold = {stack: [] for stack in only}
    shutdown = {stack: [] for stack in only}
    failures = {}
    for round_index in range(profile["rounds"]):
        for stack in [s for s in stack_order(round_index) if s in only]:
            if stack in failures:
                continue
            log("round %d: %s" % (round_index + 1, stack))
            server = None
            try:
                server = stacks.start(stack, 1)
                cold[stack].append(server.wait_ready())
                log("  ready after %.2f s" % server.ready_seconds)
                verify_predictions(server)
                if stack in COLD_ONLY:
                    continue
                restart = stack in peers.RESTART_TO_SCALE
                counts = (1,) if restart else (1, 2)
                measured = measure_server(server, wrk, profile, first=True, counts=counts)
                if restart:  # the worker count is fixed at start: a fresh server for 2
                    shutdown[stack].append(server.stop(profile["shutdown_cap"]))
                    server = stacks.start(stack, 2)
                    server.wait_ready()
                    log("  2 workers: ready after %.2f s" % server.ready_seconds)
                    verify_predictions(server)
                    measured.update(measure_server(server, wrk, profile, True, counts=(2,)))
                e2e[stack].append(measured)
            except Exception as exc:  # keep measuring the other stacks
                failures[stack] = "%s: %s" % (type(exc).__name__, exc)
                log("  FAILED: %s" % failures[stack])
            finally:
                if server is not None:
                    shutdown[stack].append(server.stop(profile["shutdown_cap"]))
    for extra in range(profile["extra_cold"] + max(0, 2 - profile["rounds"])):
        for stack in [s for s in stack_order(extra + 1) if s in only]:
            if stack in failures:
                continue
            log("cold start %d: %s" % (extra + 1, stack))
            server = None
            try:
                server = stacks.start(stack, 1)
                cold[stack].append(server.wait_ready())
                log("  ready after %.2f s" % server.ready_seconds)
            except Exception as exc:
                failures[stack] = "%s: %s" % (type(exc).__name__, exc)
                log("  FAILED: %s" % failures[stack])
            finally:
                if server is not None:
                    shutdown[stack].append(server.stop(profile["shutdown_cap"]))
    return {"e2e": e2e, "cold": cold, "shutdown": shutdown, "failures": failures}


def cold_only(stacks: "Stacks", only, rounds: int) -> str:
    """Cold starts only, the stacks alternately (order reversed every round): a table of medians."""
    cold = {stack: [] for stack in only}
    for round_index in range(rounds):
        order = only if round_index % 2 == 0 else only[::-1]
        for stack in order:
            server = stacks.start(stack, 1)
            try:
                cold[stack].append(server.wait_ready())
                log("cold start %d: %-12s %.2f s" % (round_index + 1, stack, server.ready_seconds))
            finally:
                server.stop(10)
    lines = ["| stack | cold start s (median) | runs | every run s |", "|---|---:|---:|---|"]
    for stack in only:
        values = " ".join("%.2f" % v for v in cold[stack])
        lines.append(
            "| %s | %.2f | %d | %s |" % (stack, _median(cold[stack]), len(cold[stack]), values)
        )
    with open(os.path.join(WORK, "cold-only.json"), "w") as handle:
        json.dump(cold, handle)
    return "\n".join(lines)


# ---------------------------------------------------------------- profile


def _summarise_raw(path: str, top: int) -> str:
    """Self and inclusive sample shares per function from py-spy's raw (collapsed) output."""
    own, inclusive, total = {}, {}, 0
    with open(path) as handle:
        for line in handle:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            count = int(count)
            frames = [f for f in stack.split(";") if not f.startswith("process ")]
            if not frames:
                continue
            total += count
            own[frames[-1]] = own.get(frames[-1], 0) + count
            for frame in set(frames):
                inclusive[frame] = inclusive.get(frame, 0) + count
    if not total:
        return "no samples"
    lines = ["%d samples" % total, "", "self %  function (file:line)"]
    for frame, count in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        lines.append("%5.1f  %s" % (100.0 * count / total, frame))
    lines += ["", "inclusive %  function (file:line)"]
    for frame, count in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        lines.append("%5.1f  %s" % (100.0 * count / total, frame))
    return "\n".join(lines)


def profile_request_path(stacks: "Stacks", wrk: str, stack: str, seconds: int) -> str:
    """py-spy samples the stack's Python worker while wrk drives each body; writes summaries."""
    py_spy = os.path.join(os.path.dirname(stacks.project_python), "py-spy")
    if not os.path.exists(py_spy):
        run([stacks.project_python, "-m", "pip", "install", "-q", "py-spy"])
    out_dir = os.path.join(WORK, "profile")
    os.makedirs(out_dir, exist_ok=True)
    server = stacks.start(stack, 1)
    reports = []
    try:
        server.wait_ready()
        run_wrk(wrk, server.url, "JSON 1x16", 5)
        backends = [
            pid
            for pid in processes_with_token(server.token)
            if b"model_service_worker" in open("/proc/%d/cmdline" % pid, "rb").read()
        ]
        if not backends:
            raise RuntimeError("no model_service_worker process found")
        for body in FAST_BODIES:
            raw = os.path.join(out_dir, "%s-%s.raw" % (stack, body.split()[0].lower()))
            cmd = [py_spy, "record", "--rate", "250", "--duration", str(seconds), "--format"]
            cmd += ["raw", "--output", raw, "--subprocesses", "--nonblocking"]
            cmd += ["--pid", str(min(backends))]
            spy = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(0.5)
            data = run_wrk(wrk, server.url, body, seconds)
            spy.wait(timeout=60)
            summary = _summarise_raw(raw, 25)
            text = "## %s, %s: %.0f req/s under py-spy\n\n%s\n\n%s\n" % (
                stack,
                body,
                data["rps"],
                "Socket waits (model_service_worker.py:139-142, _retrieve_buffer:160) are the "
                "worker idling for Java.",
                summary,
            )
            with open(raw[: -len(".raw")] + ".txt", "w") as handle:
                handle.write(text)
            reports.append(text)
            log("profile written: %s" % os.path.relpath(raw[: -len(".raw")] + ".txt", REPO))
    finally:
        server.stop(5)
    return "\n".join(reports)


# ---------------------------------------------------------------- report


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _fmt(value, pattern="%.1f", missing="n/a"):
    return missing if value is None else pattern % value


CODEC_LABELS = ("1.10.1", "project", "project-stdlib")


def codec_table(codecs: dict) -> tuple:
    """Markdown table and {(format, shape, op): ratio} for project (with orjson) vs 1.10.1."""
    index = {}
    for label in CODEC_LABELS:
        for row in codecs.get(label, {}).get("results", []):
            index.setdefault((row["format"], row["shape"], row["op"]), {})[label] = row
    lines = [
        "| format | shape | op | body bytes | 1.10.1 MB/s | project MB/s | project without orjson "
        "MB/s | ratio | ratio without orjson | same decoded array |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    ratios = {}
    stdlib_ratios = {}

    def cell(row):
        if row.get("mb_per_s") is not None:
            return "%.1f" % row["mb_per_s"]
        if "UnsupportedFormat" in row.get("error", ""):
            return "n/a"
        return "error: %s" % row.get("error", "not run")[:60] if row else "not run"

    for key in sorted(index, key=lambda k: (k[0], int(k[1].split("x")[0]), k[2])):
        fmt, shape, op = key
        rows = index[key]
        old, new, std = (rows.get(label, {}) for label in CODEC_LABELS)
        ratio = (
            new["mb_per_s"] / old["mb_per_s"]
            if old.get("mb_per_s") and new.get("mb_per_s")
            else None
        )
        ratio_std = (
            std["mb_per_s"] / old["mb_per_s"]
            if old.get("mb_per_s") and std.get("mb_per_s")
            else None
        )
        ratios[key] = ratio
        stdlib_ratios[key] = ratio_std
        same = []
        if op == "decode" and old.get("digest"):
            for label, row in (("project", new), ("without orjson", std)):
                if row.get("digest") and row["digest"] != old["digest"]:
                    same.append("NO (%s): %s vs %s" % (label, row["digest"], old["digest"]))
            same = same or ["yes"]
        lines.append(
            "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
            % (
                fmt.upper(),
                shape,
                op,
                old.get("bytes") or new.get("bytes"),
                cell(old),
                cell(new),
                cell(std),
                _fmt(ratio, "%.2fx"),
                _fmt(ratio_std, "%.2fx"),
                "; ".join(same),
            )
        )
    for label in CODEC_LABELS:
        if codecs.get(label, {}).get("error"):
            lines.append("\n%s codec runner failed: %s" % (label, codecs[label]["error"]))
    return "\n".join(lines), (ratios, stdlib_ratios)


def e2e_summary(e2e: dict) -> dict:
    """(stack, case) -> medians over rounds of rps, p50, p99 and the error total."""
    summary = {}
    for stack, rounds in e2e.items():
        cases = sorted({case for r in rounds for case in r})
        for case in cases:
            samples = [r[case] for r in rounds if case in r]
            summary[(stack, case)] = {
                "rps": _median(s["rps"] for s in samples),
                "p50": _median(s["p50_us"] / 1000 for s in samples),
                "p99": _median(s["p99_us"] / 1000 for s in samples),
                "errors": sum(s["errors"] for s in samples),
                "n": len(samples),
                "java_cpu": _median(s.get("java_cpu_us") for s in samples),
                "python_cpu": _median(s.get("python_cpu_us") for s in samples),
                "other_cpu": _median(s.get("other_cpu_us") for s in samples),
            }
    return summary


def cpu_table(summary: dict, stacks) -> str:
    lines = [
        "| body | workers |"
        + "".join(" %s java | %s workers | %s other |" % (s, s, s) for s in stacks),
        "|---|---:|" + "---:|---:|---:|" * len(stacks),
    ]
    for body in FAST_BODIES + [SLOW_BODY]:
        for workers in (1, 2):
            row = "| %s | %d |" % (body, workers)
            for stack in stacks:
                cell = summary.get((stack, "%s|%d" % (body, workers))) or {}
                row += " %s | %s | %s |" % (
                    _fmt(cell.get("java_cpu"), "%.0f"),
                    _fmt(cell.get("python_cpu"), "%.0f"),
                    _fmt(cell.get("other_cpu"), "%.0f"),
                )
            lines.append(row)
    return "\n".join(lines)


def handler_table(paths: dict) -> str:
    stacks = [s for s in STACKS if s in paths]
    lines = [
        "| body |"
        + "".join(" %s us |" % s for s in stacks)
        + " project / floor | 1.10.1 / floor |",
        "|---|" + "---:|" * (len(stacks) + 2),
    ]
    for body in FAST_BODIES:
        row = "| %s |" % body
        values = {}
        for stack in stacks:
            data = paths[stack]
            value = (data.get("results") or {}).get(body, {}).get("us_per_request")
            values[stack] = value
            row += " %s |" % (_fmt(value, "%.0f") if not data.get("error") else "error")
        for stack in ("project", "1.10.1"):
            a, b = values.get(stack), values.get("floor")
            row += " %s |" % _fmt(a / b if a and b else None, "%.2fx")
        lines.append(row)
    for stack in stacks:
        if paths[stack].get("error"):
            lines.append("\n%s: %s" % (stack, paths[stack]["error"]))
    return "\n".join(lines)


def e2e_table(summary: dict, stacks) -> str:
    header = "| body | workers |" + "".join(" %s req/s | p50 ms | p99 ms |" % s for s in stacks)
    header += "".join(" %s / floor |" % s for s in stacks if s != "floor")
    lines = [header, "|---|---:|" + "---:|---:|---:|" * len(stacks)]
    lines[-1] += "---:|" * len([s for s in stacks if s != "floor"])
    for body in FAST_BODIES + [SLOW_BODY]:
        for workers in (1, 2):
            case = "%s|%d" % (body, workers)
            row = "| %s | %d |" % (body, workers)
            for stack in stacks:
                cell = summary.get((stack, case))
                if cell is None:
                    row += " n/a | | |"
                    continue
                errors = " (%d errors)" % cell["errors"] if cell["errors"] else ""
                row += " %.0f%s | %.2f | %.2f |" % (cell["rps"], errors, cell["p50"], cell["p99"])
            floor = summary.get(("floor", case))
            for stack in stacks:
                if stack == "floor":
                    continue
                cell = summary.get((stack, case))
                ratio = cell["rps"] / floor["rps"] if cell and floor and floor["rps"] else None
                row += " %s |" % _fmt(ratio, "%.2fx")
            lines.append(row)
    return "\n".join(lines)


def peer_table(summary: dict, stacks) -> str:
    """The project beside the ceiling and the peers, with the project's requests/s ratio to each."""
    shown = [s for s in ("project",) + peers.PEER_STACKS if s in stacks]
    others = [s for s in shown if s != "project"]
    header = "| body | workers |" + "".join(" %s req/s | p50 ms | p99 ms |" % s for s in shown)
    header += "".join(" project / %s |" % s for s in others)
    lines = [header, "|---|---:|" + "---:|---:|---:|" * len(shown) + "---:|" * len(others)]
    for body in peers.PEER_BODIES:
        for workers in (1, 2):
            case = "%s|%d" % (body, workers)
            row = "| %s | %d |" % (body, workers)
            for stack in shown:
                cell = summary.get((stack, case))
                if cell is None:
                    row += " n/a | | |"
                    continue
                errors = " (%d errors)" % cell["errors"] if cell["errors"] else ""
                row += " %.0f%s | %.2f | %.2f |" % (cell["rps"], errors, cell["p50"], cell["p99"])
            project = summary.get(("project", case))
            for stack in others:
                cell = summary.get((stack, case))
                ratio = cell["rps"] and project["rps"] / cell["rps"] if cell and project else None
                row += " %s |" % _fmt(ratio, "%.2fx")
            lines.append(row)
    return "\n".join(lines)


def cold_table(result: dict, stacks) -> str:
    lines = [
        "| stack | cold start s (median) | runs | shutdown: entry process exit s | "
        "all processes gone s | runs with leftovers after cap |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for stack in stacks:
        cold = result["cold"].get(stack, [])
        downs = result["shutdown"].get(stack, [])
        exits = [d["exit_seconds"] for d in downs]
        gone = [d["gone_seconds"] for d in downs]
        leftovers = sum(1 for d in downs if d["leftovers"])
        lines.append(
            "| %s | %s | %d | %s | %s | %d of %d |"
            % (
                stack,
                _fmt(_median(cold), "%.2f"),
                len(cold),
                _fmt(_median(exits), "%.2f", "did not exit"),
                _fmt(_median(gone), "%.2f", "never (killed)"),
                leftovers,
                len(downs),
            )
        )
    return "\n".join(lines)


def targets(codec_ratios: tuple, summary: dict, result: dict) -> str:
    def by_shape(ratios, fmt, op):
        found = {shape: r for (f, shape, o), r in ratios.items() if f == fmt and o == op}
        return [found.get(shape) for shape in ("1x16", "1000x32", "10000x32")]

    def codec(name, fmt, op, goal):
        values = by_shape(codec_ratios[0], fmt, op)
        stdlib = by_shape(codec_ratios[1], fmt, op)
        text = "%s (without orjson %s)" % (
            " / ".join(_fmt(v, "%.2fx") for v in values),
            " / ".join(_fmt(v, "%.2fx") for v in stdlib),
        )
        if any(v is None for v in values):
            met = "n/a"
        elif all(v >= goal for v in values):
            met = "yes"
        elif all(v >= goal for v in values[1:]):
            met = "large bodies only"
        else:
            met = "NO"
        lines.append("| %s | %s | %s |" % (name, text, met))

    def rps(stack, case):
        cell = summary.get((stack, case))
        return cell["rps"] if cell else None

    lines = ["| target | measured | met |", "|---|---|---|"]

    def add(name, value, goal, text=None):
        met = "n/a" if value is None else ("yes" if value >= goal else "NO")
        lines.append("| %s | %s | %s |" % (name, text or _fmt(value, "%.2fx"), met))

    floor_json = rps("floor", "JSON 1x16|1")
    for stack in ("project", "1.10.1"):
        value = rps(stack, "JSON 1x16|1")
        ratio = value / floor_json if value and floor_json else None
        add("%s JSON 1x16, 1 worker >= 0.95x floor req/s" % stack, ratio, 0.95)
    codec("CSV decode >= 5x 1.10.1 (1x16 / 1000x32 / 10000x32)", "csv", "decode", 5)
    codec("JSON decode >= 3x 1.10.1 (same shapes)", "json", "decode", 3)
    codec("JSON encode >= 3x 1.10.1 (same shapes)", "json", "encode", 3)
    codec("NPY decode >= 1x 1.10.1 (same shapes)", "npy", "decode", 1)
    codec("NPY encode >= 1x 1.10.1 (same shapes)", "npy", "encode", 1)
    cold = {s: _median(result["cold"].get(s, [])) for s in STACKS}
    if cold.get("project") is not None and cold.get("1.10.1") is not None:
        diff = cold["1.10.1"] - cold["project"]
        add(
            "cold start <= 1.10.1's",
            diff,
            0,
            "%.2f s vs %.2f s" % (cold["project"], cold["1.10.1"]),
        )
    else:
        add("cold start <= 1.10.1's", None, 0)
    if cold.get("project") is not None and cold.get("floor") is not None:
        diff = 0.3 - (cold["project"] - cold["floor"])
        text = "%+.2f s vs floor" % (cold["project"] - cold["floor"])
        add("cold start within 0.3 s of the floor", diff, 0, text)
    else:
        add("cold start within 0.3 s of the floor", None, 0)
    for stack in ("project", "1.10.1", "floor"):
        one, two = rps(stack, SLOW_BODY + "|1"), rps(stack, SLOW_BODY + "|2")
        add(
            "%s 2 workers >= 1.5x 1 worker (2 ms predict)" % stack,
            two / one if one and two else None,
            1.5,
        )
    lines += ["", "Issue 12:", "", "| target | measured | met |", "|---|---|---|"]
    for op in ("decode", "encode"):
        values = by_shape(codec_ratios[0], "json", op)
        text = " / ".join(_fmt(v, "%.2fx") for v in values[1:])
        met = "n/a" if None in values[1:] else ("yes" if min(values[1:]) >= 3 else "NO")
        lines.append(
            "| default install: JSON %s >= 3x 1.10.1 (1000x32 / 10000x32) | %s | %s |"
            % (op, text, met)
        )
        add("default install: JSON %s 1x16 not slower than 1.10.1" % op, values[0], 1.0)
    for workers in (1, 2):
        mine, ceiling = rps("project", "JSON 1x16|%d" % workers), rps(
            "ceiling", "JSON 1x16|%d" % workers
        )
        add(
            "project >= 0.95x the ceiling, JSON 1x16, %d worker(s)" % workers,
            mine / ceiling if mine and ceiling else None,
            0.95,
        )
    for peer in ("fastapi", "torchserve", "mlserver"):
        ratios = []
        for body in peers.PEER_BODIES:
            for workers in (1, 2):
                mine, theirs = rps("project", "%s|%d" % (body, workers)), rps(
                    peer, "%s|%d" % (body, workers)
                )
                ratios.append(mine / theirs if mine and theirs else None)
        value = None if None in ratios else min(ratios)
        add(
            "project ahead of %s on every row (lowest project / %s req/s)" % (peer, peer),
            None if value is None else value - 1e-9,
            1.0,
            _fmt(value, "%.2fx"),
        )
    for stack in ("project", "project-cds"):
        name = "%s cold start <= 0.8x the floor's" % stack
        if cold.get(stack) is not None and cold.get("floor") is not None:
            ratio = cold[stack] / cold["floor"]
            text = "%.2fx (%.2f s vs %.2f s)" % (ratio, cold[stack], cold["floor"])
            add(name, 0.8 - ratio, 0, text)
        else:
            add(name, None, 0)
    return "\n".join(lines)


def write_report(args, profile, info, codecs, result, stacks_run, paths) -> str:
    codec_md, ratios = codec_table(codecs)
    summary = e2e_summary(result.get("e2e", {})) if result else {}
    parts = [
        "# Benchmark results",
        "",
        "Generated by `%s` (profile `%s`)."
        % (" ".join(["python", "benchmarks/run.py"] + args.argv), args.profile),
        "",
        "- date: %s" % info["date"],
        "- machine: %s cores (nproc), %s, kernel %s, load average at start %s"
        % (info["nproc"], info["cpu"], info["kernel"], " ".join(info["loadavg"])),
        "- python %s (project venv), %s (1.10.1 venv); numpy %s; %s; multi-model-server %s; %s"
        % (
            info["python"],
            info["python_1.10.1"],
            info["numpy"],
            info["java"],
            info["mms"],
            info["wrk"],
        ),
        "- peers: %s"
        % ("; ".join("%s: %s" % kv for kv in sorted(info.get("peers", {}).items())) or "none"),
        "- profile: %s" % ", ".join("%s=%s" % kv for kv in sorted(profile.items())),
        "",
        "## 1. Codecs (in-process, median of %d runs, MB/s of the canonical body)"
        % profile["codec_repeats"],
        "",
        "Each toolkit runs `benchmarks/codec_runner.py` with its own virtual environment's python. "
        "Ratio = project / 1.10.1. 1.10.1 has no JSON Lines codec. For 1.10.1 the UTF-8 "
        "bytes-to-str "
        "step its transformer performs is inside the timed decode. 'same result' compares the "
        "decoded arrays (shape, dtype, sum).",
        "",
        codec_md,
        "",
    ]
    if result:
        parts += [
            "## 2. End to end through the real MMS on 127.0.0.1",
            "",
            "Median over %d round(s) run alternately (stack order reversed every round); "
            "each server "
            "gets %d s of JIT warm-up, then every case %d s of warm-up and %d s measured; "
            "1 worker, then the same server scaled to 2 workers through the management API. "
            "Accept equals Content-Type. The model is one linear layer W (32x4); a 1x24 input "
            "makes predict burn 2 ms of CPU. Ratios are requests/s relative to the floor (a "
            "hand-written MMS "
            "handler, `benchmarks/floor_handler.py`, Java started directly)."
            % (profile["rounds"], profile["jit_warmup"], profile["warmup"], profile["duration"]),
            "",
            "Load: `%s`" % wrk_command_text(),
            "",
            e2e_table(summary, [s for s in stacks_run if s in BASE_STACKS]),
            "",
            "CPU per request while measured (microseconds, from /proc of every process the stack "
            "started: the Java front end, MMS's Python workers, and the rest, i.e. the entry "
            "process such as a supervisor). Less sensitive to other load on the machine than "
            "requests/s:",
            "",
            cpu_table(summary, [s for s in stacks_run if s in BASE_STACKS]),
            "",
            "### Python request path in-process",
            "",
            "`benchmarks/handler_runner.py` loads each stack's handler with MMS's own model loader "
            "and calls `mms.service.Service.predict` plus the worker's `emit_metrics` per request, "
            "as MMS's worker does, without the socket and Java: median CPU microseconds per "
            "request (%d requests x 3)." % profile["handler_requests"],
            "",
            handler_table(paths),
            "",
            "### The alternatives, same model, bodies, load and worker count",
            "",
            "The ceiling is this project's own `start_model_server` and MMS configuration with "
            "`benchmarks/ceiling_handler.py`, a handler service answering a constant without "
            "decoding. FastAPI (async endpoint, `uvicorn --workers N`, uvloop and httptools), "
            "TorchServe (custom handler `benchmarks/torchserve_handler.py`, "
            "`decode_input_request=false`) and MLServer (custom runtime "
            "`benchmarks/mlserver_runtime.py`, `parallel_workers=N`, /invocations and /ping as "
            "custom endpoints) decode and encode with `benchmarks/peer_codec.py` (orjson, "
            "numpy) and call the same model code. TorchServe is scaled to 2 workers through its "
            "management API like MMS; FastAPI and MLServer fix the worker count at start, so "
            "their 2-worker rows come from a second server started with 2. Same wrk command, "
            "same warm-up and duration as above. Ratios are the project's requests/s divided by "
            "the other stack's.",
            "",
            peer_table(summary, stacks_run),
            "",
            "## 3. Cold start and shutdown",
            "",
            "Cold start: seconds from starting the stack's entry process (1 worker) to the first "
            "200 for a JSON 1x16 prediction. Shutdown: SIGTERM to that process; seconds until it "
            "exits and "
            "until every process it started is gone (capped at %d s, then killed)."
            % profile["shutdown_cap"],
            "",
            cold_table(result, stacks_run),
            "",
        ]
        if result.get("failures"):
            parts += ["Failures:", ""]
            parts += ["- %s: %s" % kv for kv in sorted(result["failures"].items())]
            parts.append("")
        parts += ["## Targets (issues 5 and 12)", "", targets(ratios, summary, result), ""]
    parts += [
        "## Commands",
        "",
        "- floor: `java -Dmodel_server_home=<site-packages> -cp .:<site-packages>/mms/frontend/* "
        "com.amazonaws.ml.mms.ModelServer --python <project venv python> "
        "-f <state>/floor.properties "
        "-s / -m model=<abs path of benchmarks/.work/opt_ml/model>` "
        "(handler `floor_handler:handle`)",
        "- 1.10.1: `benchmarks/.work/venv-1.10.1/bin/python benchmarks/launch_old.py --state-dir "
        "<state>` (its own `start_model_server()`; config file kept in the state dir)",
        "- project: `benchmarks/.work/venv-project/bin/python benchmarks/launch_project.py` "
        "(`start_model_server()`)",
        "- all stacks: SAGEMAKER_BASE_DIR=benchmarks/.work/opt_ml, SAGEMAKER_BIND_TO_PORT, "
        "SAGEMAKER_MODEL_SERVER_WORKERS=1, a TMPDIR of their own",
        "- ceiling: as project, with `--handler-service ceiling_handler` and benchmarks/ on "
        "PYTHONPATH",
        "- fastapi: `benchmarks/.work/venv-fastapi/bin/python -m uvicorn fastapi_app:app --host "
        "127.0.0.1 --port <port> --workers <n> --log-level warning --no-access-log`",
        "- torchserve: `benchmarks/.work/venv-torchserve/bin/torchserve --start --foreground "
        "--ncs --disable-token-auth --model-store benchmarks/.work/torchserve-store --models "
        "model=model.mar --ts-config <state>/config.properties` (archive made with "
        "torch-model-archiver from benchmarks/torchserve_handler.py)",
        "- mlserver: `benchmarks/.work/venv-mlserver/bin/mlserver start <state>/models` "
        "(settings.json with parallel_workers=<n>; model-settings.json naming "
        "`mlserver_runtime.BenchmarkRuntime`)",
        "- codecs: `<venv>/bin/python benchmarks/codec_runner.py --toolkit <label> --repeats %d "
        "--min-seconds %s`" % (profile["codec_repeats"], profile["codec_min_seconds"]),
        "",
    ]
    text = "\n".join(parts)
    with open(RESULTS_MD, "w") as handle:
        handle.write(text)
    return text


# ---------------------------------------------------------------- main


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short development run (~3-4 min)")
    parser.add_argument(
        "--project-python",
        help="python of an environment where this project is installed (default: build "
        "benchmarks/.work/venv-project with an editable install)",
    )
    parser.add_argument(
        "--only",
        default=DEFAULT_STACKS,
        help="stacks, comma-separated, from: %s (project-stdlib hides orjson)" % ", ".join(STACKS),
    )
    parser.add_argument(
        "--profile-request-path",
        metavar="STACK",
        help="only profile STACK's worker with py-spy (writes benchmarks/.work/profile/)",
    )
    parser.add_argument(
        "--project-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the project stacks (repeatable), e.g. to A/B a setting",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite RESULTS.md from the last run's benchmarks/.work/results.json",
    )
    parser.add_argument(
        "--cold-only",
        type=int,
        metavar="N",
        help="only N alternating rounds of cold starts of the --only stacks; prints a table "
        "and leaves RESULTS.md alone (e.g. --cold-only 8 --only floor,project,project-cds)",
    )
    parser.add_argument("--skip-codecs", action="store_true")
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--rounds", type=int, help="override the profile's round count")
    parser.add_argument("--duration", type=float, help="override measured seconds per case")
    args = parser.parse_args(argv)
    args.argv = list(argv)
    args.profile = "quick" if args.quick else "full"
    return args


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    profile = dict(PROFILES[args.profile])
    if args.rounds:
        profile["rounds"] = args.rounds
    if args.duration:
        profile["duration"] = args.duration
    only = [s for s in STACKS if s in args.only.split(",")]
    os.makedirs(WORK, exist_ok=True)

    def on_signal(signo, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    began = time.monotonic()
    if args.report_only:
        with open(os.path.join(WORK, "results.json")) as handle:
            saved = json.load(handle)
        args.argv = saved.get("argv", args.argv)
        args.profile = saved.get("profile_name", args.profile)
        print(
            write_report(
                args,
                saved.get("profile", profile),
                saved["info"],
                saved["codecs"],
                saved["run"] or None,
                saved.get("stacks", only),
                saved.get("paths", {}),
            )
        )
        return 0
    try:
        wrk = ensure_wrk()
        old_python = ensure_venv(OLD_VENV, OLD_REQUIREMENTS)
        if args.project_python:
            project_python = args.project_python
        else:
            project_python = ensure_venv(
                PROJECT_VENV,
                ["-e", REPO],  # a default install: orjson comes as a dependency
                marker_sources=[os.path.join(REPO, "setup.py")],
            )
        prepare_model_and_bodies(project_python)
        unavailable = provision_peers(only)
        if "project-cds" in only:
            build_cds_archive(project_python)
        only = [s for s in only if s not in unavailable]
        if args.cold_only:
            print(cold_only(Stacks(project_python, old_python), only, args.cold_only))
            return 0
        if args.profile_request_path:
            stacks = Stacks(project_python, old_python)
            print(profile_request_path(stacks, wrk, args.profile_request_path, 8))
            return 0
        info = machine_info(project_python, old_python, wrk)
        info["peers"] = peer_versions(only)
        codecs = {}
        if not args.skip_codecs:
            codecs = run_all_codecs(old_python, project_python, profile)
        result = None
        paths = {}
        if not args.skip_e2e:
            shutil.rmtree(os.path.join(WORK, "state"), ignore_errors=True)  # last run's logs
            stacks = Stacks(project_python, old_python)
            stacks.project_env = dict(item.split("=", 1) for item in args.project_env)
            paths = run_handler_paths(stacks, only, profile)
            result = run_end_to_end(stacks, wrk, profile, only)
            result["failures"].update(unavailable)
        with open(os.path.join(WORK, "results.json"), "w") as handle:
            serialisable = dict(result or {})
            everything = {
                "argv": args.argv,
                "profile_name": args.profile,
                "profile": profile,
                "stacks": only,
                "info": info,
                "codecs": codecs,
                "paths": paths,
                "run": serialisable,
            }
            json.dump(everything, handle, indent=1)
        text = write_report(args, profile, info, codecs, result, only, paths)
        print()
        print(text)
        log("done in %.0f s; wrote %s" % (time.monotonic() - began, os.path.relpath(RESULTS_MD)))
        return 0
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        leftovers = cleanup_all()
        if leftovers:
            log("WARNING: processes still alive after cleanup: %s" % leftovers)


if __name__ == "__main__":
    sys.exit(main())

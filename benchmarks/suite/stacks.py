"""How each stack starts, scales and stops, through server_process (test/server_process.py),
the same process control as the integration tests' harness.

Every process a stack starts carries SM_BENCH_TOKEN=<uuid> in its environment, so that its CPU
time can be read and whatever it leaves behind killed at the end (``cleanup_all``).
"""

import json
import os
import shutil
import signal
from typing import Dict, List, Optional

import peers
import server_process
from server_process import StopTiming
from suite.common import (
    BODIES,
    CDS_ARCHIVE,
    FAST_BODIES,
    HERE,
    MODEL_BASE,
    MODEL_DIR,
    OLD_VENV,
    SLOW_BODY,
    WORK,
    http,
    run,
)

TOKEN_VAR = "SM_BENCH_TOKEN"
BASE_STACKS = ("floor", "1.10.1", "project", "project-stdlib")
# project-cds: the project with an AppCDS archive of MMS's classes (SAGEMAKER_MMS_CDS_ARCHIVE),
# built before the run by the explicit `python -m sagemaker_inference.cds`; cold start only.
COLD_ONLY = ("project-cds",)
STACKS = BASE_STACKS + COLD_ONLY + peers.PEER_STACKS
DEFAULT_STACKS = "floor,1.10.1,project,project-cds,ceiling,fastapi,torchserve,mlserver"

_started: Dict[str, server_process.ServerProcess] = {}


def stack_bodies(stack: str) -> List[str]:
    """The bodies a stack is measured with: the peers answer the issue's two rows only."""
    if stack in peers.PEER_STACKS:
        return list(peers.PEER_BODIES)
    return FAST_BODIES + [SLOW_BODY]


def stack_order(round_index: int) -> List[str]:
    """Every stack, reversed on odd rounds, so that load drifts hit all of them alike."""
    order = list(STACKS)
    return order if round_index % 2 == 0 else order[::-1]


def cpu_seconds(token: str) -> Dict[str, float]:
    """User+system CPU seconds of the token's live processes: java, MMS workers, the rest."""
    totals = {"java": 0.0, "python": 0.0, "other": 0.0}
    for pid in server_process.marked_pids(TOKEN_VAR, token):
        argv = server_process.command_line(pid)
        if not argv:
            continue
        if os.path.basename(argv[0]) == b"java":
            kind = "java"
        elif any(b"model_service_worker" in arg for arg in argv):
            kind = "python"
        else:
            kind = "other"
        totals[kind] += server_process.cpu_seconds(pid)
    return totals


def cleanup_all() -> List[int]:
    """Kills what every server started here left; the pids that survived."""
    leftovers: List[int] = []
    for proc in list(_started.values()):
        leftovers += proc.kill()
    return leftovers


class Server:
    """One running stack: the process we started (a ServerProcess), its port and timings."""

    def __init__(self, stack: str, cmd, env: dict, cwd: str, port: int, log_path: str, mgmt=None):
        self.stack = stack
        self.port = port
        self.management_url = "http://127.0.0.1:%d" % (mgmt or port)
        self.proc = server_process.ServerProcess(cmd, env, cwd, TOKEN_VAR, log_path=log_path)
        self.token = self.proc.marker
        _started[self.token] = self.proc
        self.ready_seconds: Optional[float] = None

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.port

    @property
    def process(self):
        return self.proc.process

    def pids(self) -> List[int]:
        return self.proc.pids()

    def wait_ready(self, timeout: float = 120.0) -> float:
        """Seconds from process start to the first 200 for a JSON 1x16 prediction."""
        json_body = BODIES["JSON 1x16"]
        body, headers = json_body.read(), {"Content-Type": json_body.content_type}
        headers["Accept"] = json_body.accept

        def predicts() -> bool:
            return http("POST", self.url + "/invocations", body, headers, timeout=2.0)[0] == 200

        try:
            self.ready_seconds = self.proc.wait_until(predicts, timeout, interval=0.05)
        except server_process.ProcessExited:
            code = self.process.returncode
            raise RuntimeError("%s exited with %s before serving" % (self.stack, code))
        except server_process.WaitTimeout:
            raise RuntimeError("%s not ready after %.0f s" % (self.stack, timeout))
        return self.ready_seconds

    def model_name(self) -> str:
        status, body = http("GET", self.management_url + "/models")
        if status == 200:
            models = json.loads(body).get("models") or []
            if models:
                return models[0]["modelName"]
        return "model"

    def _ready_workers(self, name: str) -> int:
        status, body = http("GET", "%s/models/%s" % (self.management_url, name))
        if status != 200:
            return 0
        described = json.loads(body)
        if isinstance(described, list):
            described = described[0]
        return len([w for w in described.get("workers", []) if w.get("status") == "READY"])

    def scale_workers(self, workers: int, timeout: float = 60.0) -> None:
        """Scales the model through the management API and waits for the READY workers."""
        name = self.model_name()
        query = "min_worker=%d&max_worker=%d&synchronous=true" % (workers, workers)
        url = "%s/models/%s?%s" % (self.management_url, name, query)
        status, body = http("PUT", url, timeout=timeout)
        if status not in (200, 202):
            raise RuntimeError(
                "scaling %s to %d workers: %s %r" % (self.stack, workers, status, body)
            )
        try:
            server_process.wait_for(lambda: self._ready_workers(name) >= workers, timeout, 0.2)
        except server_process.WaitTimeout:
            raise RuntimeError(
                "%s: %d workers not ready in %.0f s" % (self.stack, workers, timeout)
            )

    def stop(self, cap: float) -> StopTiming:
        """SIGTERM to the process we started (as the platform does), then time the way down."""
        timing = self.proc.stop(cap, signal.SIGTERM)
        if not self.proc.pids():
            _started.pop(self.token, None)
        return timing


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
        port = server_process.free_port()
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
            started = peers.command(
                stack, state, port, workers, MODEL_DIR, server_process.free_port
            )
            cmd = started["cmd"]
            env.update(started["env"])
            mgmt = started["management_port"]
        else:
            bin_dir = os.path.dirname(self.project_python)
            env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
            env["SAGEMAKER_STATE_DIR"] = state
            env["SAGEMAKER_MMS_CONFIG_FILE"] = os.path.join(state, "sagemaker-mms.properties")
            mgmt = server_process.free_port()
            while mgmt == port:
                mgmt = server_process.free_port()
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

"""The dynamic-batching benchmark inside run.py: ``benchmarks/batching.py`` run with the
project's python, its figures read back from the JSON it writes, and their medians.

batching.py starts ``start_model_server`` from the interpreter running it, so it runs as a
child process of the project's environment; its per-run lines go to this process's output.
"""

import json
import os
import signal
import subprocess
from typing import Dict, List, Optional

from suite.common import HERE, WORK, log
from suite.format import median

BATCHING_JSON = os.path.join(WORK, "batching.json")
BATCHING_STDERR = os.path.join(WORK, "batching.stderr")
SERVER_START_CAP = 180  # batching.py waits this long at most for each server


def batching_command(project_python: str, profile: dict, path: str = BATCHING_JSON) -> List[str]:
    """The command line of one batching run with the profile's runs, duration and warm-up."""
    return [
        project_python,
        os.path.join(HERE, "batching.py"),
        "--runs",
        str(profile["batching_runs"]),
        "--duration",
        str(profile["batching_duration"]),
        "--warmup",
        str(profile["batching_warmup"]),
        "--json",
        path,
    ]


def _time_cap(profile: dict, configurations: int = 3) -> float:
    """Seconds the whole child may take: every server's start cap plus its wrk runs (warm-up,
    half the duration at one connection, the duration), each with wrk's own slack."""
    per_server = SERVER_START_CAP + 60 + profile["batching_warmup"]
    per_server += 1.5 * profile["batching_duration"] + 120
    return profile["batching_runs"] * configurations * per_server


def _last_stderr_line(code: int) -> str:
    try:
        with open(BATCHING_STDERR, errors="replace") as handle:
            lines = [line for line in handle.read().splitlines() if line.strip()]
    except OSError:
        lines = []
    return "batching.py exited with %d: %s" % (code, lines[-1] if lines else "no message")


def run_batching(
    project_python: str, wrk: str, profile: dict, path: str = BATCHING_JSON
) -> Dict[str, object]:
    """Runs batching.py (wrk's directory first on PATH) and returns the dict it wrote; on any
    failure ``{"error": "..."}``, logged, so that the rest of the run is kept."""
    if os.path.exists(path):
        os.remove(path)  # never report the figures of an earlier run
    cmd = batching_command(project_python, profile, path)
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(os.path.abspath(wrk)) + os.pathsep + env.get("PATH", "")
    log("dynamic batching: %s" % " ".join(cmd))
    try:
        with open(BATCHING_STDERR, "w") as stderr:
            child = subprocess.Popen(cmd, env=env, cwd=WORK, stderr=stderr)
            try:
                code = child.wait(timeout=_time_cap(profile))
            except BaseException:  # a time-out or an interruption: let it stop its server
                child.send_signal(signal.SIGTERM)
                try:
                    child.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
                raise
        if code != 0:
            raise RuntimeError(_last_stderr_line(code))
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError, RuntimeError, subprocess.SubprocessError) as exc:
        error = "%s: %s" % (type(exc).__name__, exc)
        log("  FAILED: dynamic batching: %s" % error)
        return {"error": error}


def batching_summary(batching: Optional[dict]) -> Optional[dict]:
    """Medians per configuration of a batching.py JSON: {"single_ms", "delay_ms", "bound_ms",
    "runs", "rows": {key: {"rps", "ratio", "p50_ms", "p99_ms"}}}, rows in batching.py's order
    ("off" first), ratio = req/s over no batching's. None without figures (no run, an error,
    or no unbatched runs to compare with)."""
    configurations = (batching or {}).get("configurations") or {}
    if not configurations.get("off"):
        return None

    def medians(runs: List[dict]) -> Dict[str, Optional[float]]:
        return {key: median(r.get(key) for r in runs) for key in ("rps", "p50_ms", "p99_ms")}

    base = configurations["off"]
    base_rps = medians(base)["rps"]
    single = median(r.get("single_p50_ms") for r in base)
    delay = batching["args"]["max_batch_delay_ms"]
    rows = {}
    for key, runs in configurations.items():
        row = medians(runs)
        row["ratio"] = row["rps"] / base_rps if row["rps"] is not None and base_rps else None
        rows[key] = row
    return {
        "single_ms": single,
        "delay_ms": delay,
        "bound_ms": None if single is None else delay + 2 * single,
        "runs": len(base),
        "rows": rows,
    }

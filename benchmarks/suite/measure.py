"""The measurements: codecs in-process, the Python request path in-process, and wrk against a
running server (with the CPU its processes spent), plus the check that every answer is x @ W."""

import array
import ast
import json
import os
import subprocess
from dataclasses import asdict, dataclass, fields
from typing import Optional

from suite.common import (
    BODIES,
    BODY_DIR,
    HERE,
    MODEL_BASE,
    MODEL_DIR,
    WORK,
    WRK_CONNECTIONS,
    http,
    last_error_line,
    log,
)
from suite.stacks import Server, cpu_seconds, stack_bodies

POST_LUA = os.path.join(HERE, "post.lua")


@dataclass
class WrkResult:
    """What benchmarks/post.lua prints after a wrk run, and what follows from it."""

    requests: int
    duration_us: int
    p50_us: int
    p90_us: int
    p99_us: int
    max_us: int
    non2xx: int
    connect_errors: int
    read_errors: int
    write_errors: int
    timeouts: int
    rps: float = 0.0
    errors: int = 0
    java_cpu_us: Optional[float] = None
    python_cpu_us: Optional[float] = None
    other_cpu_us: Optional[float] = None

    def __post_init__(self) -> None:
        self.rps = self.requests / (self.duration_us / 1e6)
        self.errors = self.non2xx + self.connect_errors + self.read_errors
        self.errors += self.write_errors + self.timeouts

    def as_dict(self) -> dict:
        """The form results.json keeps (the CPU fields only once measured)."""
        data = asdict(self)
        return {k: v for k, v in data.items() if v is not None or not k.endswith("_cpu_us")}


def run_wrk_file(
    wrk: str,
    url: str,
    body_file: str,
    content_type: str,
    seconds: float,
    connections: int = WRK_CONNECTIONS,
    threads: int = 1,
    request_timeout: str = "5s",
    accept: Optional[str] = None,
) -> WrkResult:
    """wrk posting ``body_file`` to ``url`` for ``seconds`` (whole seconds, at least 1)."""
    cmd = [wrk, "-t%d" % threads, "-c%d" % connections, "-d%ds" % max(1, int(round(seconds)))]
    cmd += ["--timeout", request_timeout, "-s", POST_LUA, url, "--", body_file, content_type]
    cmd.append(accept or content_type)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    for line in done.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            data = json.loads(line[len("WRK_JSON ") :])
            known = {field.name for field in fields(WrkResult)}
            return WrkResult(**{k: v for k, v in data.items() if k in known})
    raise RuntimeError("wrk printed no summary: %s %s" % (done.stdout[-300:], done.stderr[-300:]))


def run_wrk(wrk: str, url: str, body_name: str, seconds: float) -> WrkResult:
    """The benchmark's load: one thread, WRK_CONNECTIONS connections, a body of BODIES."""
    body = BODIES[body_name]
    path = os.path.join(BODY_DIR, body.filename)
    return run_wrk_file(
        wrk, url + "/invocations", path, body.content_type, seconds, accept=body.accept
    )


def wrk_command_text() -> str:
    return (
        "wrk -t1 -c%d -d<duration>s --timeout 5s -s benchmarks/post.lua "
        "http://127.0.0.1:<port>/invocations -- <body file> <content type> <accept>"
        % WRK_CONNECTIONS
    )


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
        return {"error": last_error_line(done)}
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


def verify_predictions(server: Server) -> None:
    """Each body's answer must be x @ W (guards against timing fast error pages); the ceiling's
    constant answer only has to be a 200."""
    for name in stack_bodies(server.stack):
        spec = BODIES[name]
        body, accept = spec.read(), spec.accept
        with open(spec.path + ".expected.json") as handle:
            expected = [v for row in json.load(handle) for v in row]
        headers = {"Content-Type": spec.content_type, "Accept": accept}
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


def run_handler_paths(stacks, only, profile: dict) -> dict:
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
            results[stack] = {"error": last_error_line(done)}
            continue
        results[stack] = json.loads(done.stdout.strip().splitlines()[-1])
    return results


# ---------------------------------------------------------------- load


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
            per_request = 1e6 / max(1, data.requests)
            data.java_cpu_us = (after["java"] - before["java"]) * per_request
            data.python_cpu_us = (after["python"] - before["python"]) * per_request
            data.other_cpu_us = (after["other"] - before["other"]) * per_request
            results["%s|%d" % (body, workers)] = data.as_dict()
            log(
                "  %-8s %-26s w=%d  %8.1f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %d"
                "  cpu/req java %4.0f us python %4.0f us"
                % (
                    server.stack,
                    body,
                    workers,
                    data.rps,
                    data.p50_us / 1000,
                    data.p99_us / 1000,
                    data.errors,
                    data.java_cpu_us,
                    data.python_cpu_us,
                )
            )
    return results

#!/usr/bin/env python3
"""Dynamic batching benchmark: one MMS worker serving a model with a fixed cost per predict call
plus a cost per row, without batching and with SAGEMAKER_MODEL_SERVER_BATCH_SIZE=8 and 16.

    .venv/bin/python benchmarks/batching.py                # 2 runs of every configuration
    .venv/bin/python benchmarks/batching.py --runs 3 --duration 20

Run it with the project's virtual environment (it starts ``start_model_server`` from the
interpreter running it). Everything it writes goes to a temporary directory; the servers listen
on 127.0.0.1 only and wrk (``/usr/bin/wrk``, benchmarks/post.lua) drives them with 32
connections. For each configuration it reports requests/s and p50/p99 at 32 connections, the
single-request latency (one connection), and checks the issue's goal: batching at >= 3x the
unbatched requests/s with p99 <= max_batch_delay + 2x the unbatched single-request latency.
Figures are medians over the runs; the machine is shared, so read them with their spread.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from typing import Dict, List, Optional

from sagemaker_inference import mms_config

HERE = os.path.dirname(os.path.abspath(__file__))
POST_LUA = os.path.join(HERE, "post.lua")
CONNECTIONS = 32
FEATURES = 16

# The model: a busy-wait of FIXED_MS per predict call plus ROW_MS per row (numpy only). The
# busy-wait holds a CPU like framework overhead does (--sleep waits instead, like a model that
# waits on an accelerator); batch_stacking lets one call take a batch.
MODEL_CODE = """
import time

import numpy as np

batch_stacking = True
FIXED_SECONDS = {fixed} / 1000.0
ROW_SECONDS = {row} / 1000.0


def model_fn(model_dir):
    return np.linspace(-1.0, 1.0, {features} * 4).reshape({features}, 4)


def predict_fn(data, model):
    cost = FIXED_SECONDS + ROW_SECONDS * len(data)
    if {sleep}:
        time.sleep(cost)
    else:
        deadline = time.perf_counter() + cost
        while time.perf_counter() < deadline:
            pass
    return np.asarray(data, dtype=float) @ model
"""


def wait_until_serving(url: str, body: bytes, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited with {}".format(process.returncode))
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not answer within {} s".format(timeout))


class Server(object):
    """start_model_server in a subprocess, in a directory of its own."""

    def __init__(self, root: str, batch_size: Optional[int], delay_ms: int, workers: int):
        self.root = root
        self.port = mms_config.free_port()  # below MMS's limit of 32767
        self.url = "http://127.0.0.1:{}/invocations".format(self.port)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAGEMAKER_")}
        tmp = os.path.join(root, "tmp")
        os.makedirs(tmp, exist_ok=True)
        env.update(
            {
                "SAGEMAKER_BASE_DIR": os.path.join(root, "ml"),
                "SAGEMAKER_BIND_TO_PORT": str(self.port),
                "SAGEMAKER_BIND_ADDRESS": "127.0.0.1",
                "SAGEMAKER_MODEL_SERVER_WORKERS": str(workers),
                "SAGEMAKER_MMS_CONFIG_FILE": os.path.join(root, "mms.properties"),
                "SAGEMAKER_STATE_DIR": os.path.join(root, "state"),
                "TMPDIR": tmp,
                "TEMP": tmp,
            }
        )
        if batch_size is not None:
            env["SAGEMAKER_MODEL_SERVER_BATCH_SIZE"] = str(batch_size)
            env["SAGEMAKER_MODEL_SERVER_MAX_BATCH_DELAY_MS"] = str(delay_ms)
        self.log = open(os.path.join(root, "server.log"), "wb")
        script = "from sagemaker_inference import model_server; model_server.start_model_server()"
        self.process = subprocess.Popen(
            [sys.executable, "-c", script],
            env=env,
            cwd=root,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def wrk(url: str, body_file: str, connections: int, seconds: float) -> Dict[str, float]:
    threads = min(2, connections)
    command = [
        "wrk",
        "-t{}".format(threads),
        "-c{}".format(connections),
        "-d{}s".format(int(seconds)),
        "--timeout",
        "30s",
        "-s",
        POST_LUA,
        url,
        "--",
        body_file,
        "application/json",
        "application/json",
    ]
    output = subprocess.run(
        command, check=True, capture_output=True, text=True, timeout=seconds + 60
    ).stdout
    line = next(x for x in output.splitlines() if x.startswith("WRK_JSON "))
    summary = json.loads(line[len("WRK_JSON ") :])
    failed = summary["non2xx"] + summary["connect_errors"] + summary["read_errors"]
    failed += summary["write_errors"] + summary["timeouts"]
    if failed:
        raise RuntimeError("wrk saw {} failed requests: {}".format(failed, summary))
    return {
        "rps": summary["requests"] / (summary["duration_us"] / 1e6),
        "p50_ms": summary["p50_us"] / 1000.0,
        "p99_ms": summary["p99_us"] / 1000.0,
    }


def measure(
    root: str, body_file: str, batch_size: Optional[int], args: argparse.Namespace
) -> Dict[str, float]:
    """Start one server, warm it up, then measure one connection and 32 connections."""
    run_dir = tempfile.mkdtemp(dir=root)
    model_dir = os.path.join(run_dir, "ml", "model", "code")
    os.makedirs(model_dir)
    with open(os.path.join(model_dir, "inference.py"), "w") as handle:
        handle.write(
            textwrap.dedent(
                MODEL_CODE.format(
                    fixed=args.fixed_ms, row=args.row_ms, features=FEATURES, sleep=args.sleep
                )
            )
        )
    server = Server(run_dir, batch_size, args.max_batch_delay_ms, args.workers)
    try:
        with open(body_file, "rb") as handle:
            body = handle.read()
        try:
            wait_until_serving(server.url, body, server.process, timeout=180)
        except RuntimeError:
            server.stop()
            with open(os.path.join(run_dir, "server.log"), errors="replace") as log:
                sys.stderr.write(log.read()[-4000:])
            raise
        wrk(server.url, body_file, CONNECTIONS, args.warmup)  # the JIT needs traffic first
        single = wrk(server.url, body_file, 1, args.duration / 2)
        loaded = wrk(server.url, body_file, CONNECTIONS, args.duration)
    finally:
        server.stop()
        shutil.rmtree(run_dir, ignore_errors=True)
    return {
        "rps": loaded["rps"],
        "p50_ms": loaded["p50_ms"],
        "p99_ms": loaded["p99_ms"],
        "single_p50_ms": single["p50_ms"],
    }


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2, help="runs of every configuration")
    parser.add_argument("--duration", type=float, default=15, help="seconds at 32 connections")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of warm-up traffic")
    parser.add_argument("--fixed-ms", type=float, default=10.0, help="cost per predict call")
    parser.add_argument("--row-ms", type=float, default=0.25, help="cost per row")
    parser.add_argument("--max-batch-delay-ms", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--sleep", action="store_true", help="the predict cost sleeps instead of using a CPU"
    )
    parser.add_argument("--batch-sizes", default="8,16")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        parser.error("wrk is not on PATH")

    configurations: List[Optional[int]] = [None] + [
        int(x) for x in args.batch_sizes.split(",") if x
    ]
    root = tempfile.mkdtemp(prefix="smi-batching-bench-")
    body_file = os.path.join(root, "body.json")
    with open(body_file, "w") as handle:
        json.dump([[round(0.1 * i, 1) for i in range(FEATURES)]], handle)
    results: Dict[Optional[int], List[Dict[str, float]]] = {c: [] for c in configurations}
    try:
        for run in range(args.runs):
            for configuration in configurations:
                figures = measure(root, body_file, configuration, args)
                results[configuration].append(figures)
                print(
                    "run {} batch size {}: {:.0f} req/s, p50 {:.1f} ms, p99 {:.1f} ms, "
                    "single-request p50 {:.1f} ms".format(
                        run + 1,
                        configuration or 1,
                        figures["rps"],
                        figures["p50_ms"],
                        figures["p99_ms"],
                        figures["single_p50_ms"],
                    ),
                    flush=True,
                )
    finally:
        shutil.rmtree(root, ignore_errors=True)

    def median(configuration: Optional[int], key: str) -> float:
        return statistics.median(r[key] for r in results[configuration])

    base_rps = median(None, "rps")
    single = median(None, "single_p50_ms")
    bound = args.max_batch_delay_ms + 2 * single
    print()
    print(
        "JSON 1x{} body, {} worker(s), {} connections, predict {} ms per call + {} ms per row "
        "({}), max_batch_delay {} ms; medians of {} run(s)".format(
            FEATURES,
            args.workers,
            CONNECTIONS,
            args.fixed_ms,
            args.row_ms,
            "sleeping" if args.sleep else "busy CPU",
            args.max_batch_delay_ms,
            args.runs,
        )
    )
    print("| batch size | req/s | vs no batching | p50 ms | p99 ms | p99 goal ms | goal met |")
    print("|---|---|---|---|---|---|---|")
    for configuration in configurations:
        rps = median(configuration, "rps")
        p99 = median(configuration, "p99_ms")
        ratio = rps / base_rps
        if configuration is None:
            goal, met = "-", "-"
        else:
            goal = "{:.1f}".format(bound)
            met = "yes" if ratio >= 3 and p99 <= bound else "no"
        print(
            "| {} | {:.0f} | {:.2f}x | {:.1f} | {:.1f} | {} | {} |".format(
                configuration or "1 (off)",
                rps,
                ratio,
                median(configuration, "p50_ms"),
                p99,
                goal,
                met,
            )
        )
    print("single-request latency without batching (p50, 1 connection): {:.1f} ms".format(single))
    return 0


if __name__ == "__main__":
    sys.exit(main())

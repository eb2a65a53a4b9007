#!/usr/bin/env python3
"""Dynamic batching benchmark: one MMS worker serving a model with a fixed cost per predict call
plus a cost per row, without batching and with SAGEMAKER_MODEL_SERVER_BATCH_SIZE=8 and 16.

    .venv/bin/python benchmarks/batching.py                # 2 runs of every configuration
    .venv/bin/python benchmarks/batching.py --runs 3 --duration 20
    .venv/bin/python benchmarks/batching.py --runs 1 --json /tmp/batching.json


Run it with the project's virtual environment (it starts ``start_model_server`` from the
interpreter running it). Everything it writes goes to a temporary directory; the servers listen
on 127.0.0.1 only and wrk (``/usr/bin/wrk``, benchmarks/post.lua) drives them with 32
connections. For each configuration it reports requests/s and p50/p99 at 32 connections, the
single-request latency (one connection), and checks the issue's goal: batching at >= 3x the
unbatched requests/s with p99 <= max_batch_delay + 2x the unbatched single-request latency.
Figures are medians over the runs; the machine is shared, so read them with their spread.
With ``--json PATH`` it also writes the settings and every run's figures to PATH
(``results_json``: "off" for no batching, the batch size otherwise), which
``benchmarks/run.py`` reads for its report.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import textwrap
from typing import Dict, List, Optional

from suite.common import http
from suite.measure import run_wrk_file

import server_process  # on sys.path through the suite package

MARKER_ENV = "SM_BENCH_TOKEN"
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


class Server(object):
    """start_model_server in a subprocess, in a directory of its own, in the deployed shape
    (server_process.deployed_environment: a Java runtime without a JDK, an empty HOME)."""

    def __init__(self, root: str, batch_size: Optional[int], delay_ms: int, workers: int):
        self.root = root
        self.port = server_process.free_port()  # below MMS's limit of 32767
        self.url = "http://127.0.0.1:{}/invocations".format(self.port)
        extra = {
            "SAGEMAKER_MODEL_SERVER_WORKERS": str(workers),
            "SAGEMAKER_STATE_DIR": os.path.join(root, "state"),
        }
        if batch_size is not None:
            extra["SAGEMAKER_MODEL_SERVER_BATCH_SIZE"] = str(batch_size)
            extra["SAGEMAKER_MODEL_SERVER_MAX_BATCH_DELAY_MS"] = str(delay_ms)
        base_dir = os.path.join(root, "ml")
        env = server_process.deployed_environment(root, self.port, base_dir, extra=extra)
        argv = server_process.start_model_server_argv(sys.executable)
        log_path = os.path.join(root, "server.log")
        self.proc = server_process.ServerProcess(argv, env, root, MARKER_ENV, log_path=log_path)

    def wait_until_serving(self, body: bytes, timeout: float) -> None:
        headers = {"Content-Type": "application/json"}

        def predicts() -> bool:
            return http("POST", self.url, body, headers, timeout=5)[0] == 200

        try:
            self.proc.wait_until(predicts, timeout, interval=0.2)
        except server_process.ProcessExited:
            code = self.proc.process.returncode
            raise RuntimeError("the server exited with {}".format(code))
        except server_process.WaitTimeout:
            raise RuntimeError("the server did not answer within {} s".format(timeout))

    def stop(self) -> None:
        self.proc.stop(cap=40)


def wrk(url: str, body_file: str, connections: int, seconds: float) -> Dict[str, float]:
    """wrk at ``connections`` (2 threads at most); fails on any failed request."""
    threads = min(2, connections)
    summary = run_wrk_file(
        "wrk", url, body_file, "application/json", seconds, connections, threads, "30s"
    )
    if summary.errors:
        raise RuntimeError("wrk saw {} failed requests: {}".format(summary.errors, summary))
    return {
        "rps": summary.rps,
        "p50_ms": summary.p50_us / 1000.0,
        "p99_ms": summary.p99_us / 1000.0,
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
            server.wait_until_serving(body, timeout=180)
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


def parse_args(argv: Optional[List[str]], need_wrk: bool = True) -> argparse.Namespace:
    """The command line; an error when wrk is not on PATH (unless not ``need_wrk``)."""
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
    parser.add_argument("--json", metavar="PATH", help="also write the run's figures to PATH")
    args = parser.parse_args(argv)
    if need_wrk and shutil.which("wrk") is None:
        parser.error("wrk is not on PATH")
    return args


Results = Dict[Optional[int], List[Dict[str, float]]]


def run_all(args: argparse.Namespace, configurations: List[Optional[int]]) -> Results:
    """Every configuration ``args.runs`` times, in turn; each run's figures printed."""
    root = tempfile.mkdtemp(prefix="smi-batching-bench-")
    body_file = os.path.join(root, "body.json")
    with open(body_file, "w") as handle:
        json.dump([[round(0.1 * i, 1) for i in range(FEATURES)]], handle)
    results: Results = {c: [] for c in configurations}
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
    return results


def print_table(args: argparse.Namespace, results: Results) -> None:
    """Medians per configuration and the goal: >= 3x the unbatched req/s, p99 within bound."""

    def median(configuration: Optional[int], key: str) -> float:
        return statistics.median(r[key] for r in results[configuration])

    base_rps, single = median(None, "rps"), median(None, "single_p50_ms")
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
    for configuration in results:
        rps, p99 = median(configuration, "rps"), median(configuration, "p99_ms")
        goal, met = "-", "-"
        if configuration is not None:
            goal = "{:.1f}".format(bound)
            met = "yes" if rps / base_rps >= 3 and p99 <= bound else "no"
        print(
            "| {} | {:.0f} | {:.2f}x | {:.1f} | {:.1f} | {} | {} |".format(
                configuration or "1 (off)",
                rps,
                rps / base_rps,
                median(configuration, "p50_ms"),
                p99,
                goal,
                met,
            )
        )
    print("single-request latency without batching (p50, 1 connection): {:.1f} ms".format(single))


def configuration_key(configuration: Optional[int]) -> str:
    """The JSON key of a configuration: "off" without batching, else the batch size."""
    return "off" if configuration is None else str(configuration)


def results_json(args: argparse.Namespace, results: Results) -> dict:
    """The settings that shape the figures and every run's figures, by configuration_key."""
    settings = {
        "workers": args.workers,
        "fixed_ms": args.fixed_ms,
        "row_ms": args.row_ms,
        "max_batch_delay_ms": args.max_batch_delay_ms,
        "runs": args.runs,
        "sleep": args.sleep,
        "connections": CONNECTIONS,
        "features": FEATURES,
        "duration": args.duration,
        "warmup": args.warmup,
    }
    runs = {configuration_key(c): list(figures) for c, figures in results.items()}
    return {"args": settings, "configurations": runs}


def write_json(path: str, args: argparse.Namespace, results: Results) -> None:
    """results_json to ``path``, written to a temporary name first so that a reader never
    sees half a file."""
    partial = path + ".partial"
    with open(partial, "w") as handle:
        json.dump(results_json(args, results), handle, indent=1)
    os.replace(partial, path)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)

    def on_sigterm(signo, frame):
        raise KeyboardInterrupt  # the finally blocks stop the server that is running

    signal.signal(signal.SIGTERM, on_sigterm)
    configurations: List[Optional[int]] = [None]
    configurations += [int(x) for x in args.batch_sizes.split(",") if x]
    results = run_all(args, configurations)
    print_table(args, results)
    if args.json:
        write_json(args.json, args, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Cold start in the shape of a SageMaker framework image: a Java runtime, no JDK, empty HOME.

    python benchmarks/cold_start_shape.py                       # this checkout, JRE only
    python benchmarks/cold_start_shape.py --jdk                 # javac reachable too
    python benchmarks/cold_start_shape.py --src /other/src      # another checkout's package

Each run starts ``start_model_server()`` the way a container's entrypoint does, with a fresh
HOME, TMPDIR and base directory holding examples/fruit/model, no SAGEMAKER_ tuning variables
(only the base directory, port, bind address and config path, which a test machine needs), and
times the first 200 from POST /invocations. It reports the median and whether the readiness
plugin and the front-end patches were in use. Only the standard library is needed; the interpreter
is the one the package is installed in (default: .venv/bin/python of this checkout).
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile

from suite.common import REPO, http

import server_process  # on sys.path through the suite package

FRUIT_MODEL = os.path.join(REPO, "examples", "fruit", "model")
BODY = b"[[182, 7.4, 12.9, 0.2]]"


def first_prediction(proc: server_process.ServerProcess, port: int, timeout: float):
    """Seconds from the start to the first 200 from POST /invocations; None if none came."""
    url = "http://127.0.0.1:%d/invocations" % port
    headers = {"Content-Type": "application/json"}
    try:
        return proc.wait_until(lambda: http("POST", url, BODY, headers)[0] == 200, timeout, 0.02)
    except (server_process.ProcessExited, server_process.WaitTimeout):
        return None


def one_start(python: str, src: str, jdk: bool, timeout: float) -> dict:
    """One start in a fresh root: the seconds to the first prediction and what the log says
    about the readiness plugin, the front-end patches and javac."""
    root = tempfile.mkdtemp(prefix="smi-cold-")
    try:
        base = os.path.join(root, "ml")
        shutil.copytree(FRUIT_MODEL, os.path.join(base, "model"))
        port = server_process.free_port()
        env = server_process.deployed_environment(
            root, port, base, jre_only=not jdk, extra={"PYTHONPATH": src}
        )
        log_path = os.path.join(root, "server.log")
        argv = server_process.start_model_server_argv(python)
        proc = server_process.ServerProcess(argv, env, root, "SM_BENCH_TOKEN", log_path=log_path)
        seconds = first_prediction(proc, port, timeout)
        proc.stop(cap=40)
        text = proc.output()
        return {
            "seconds": seconds,
            "plugin": "MMS plugin unavailable" not in text,
            "patches": "MMS front-end patches unavailable" not in text,
            "compiled": "Built MMS" in text,
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=os.path.join(REPO, ".venv", "bin", "python"))
    parser.add_argument("--src", default=os.path.join(REPO, "src"), help="package source dir")
    parser.add_argument("--jdk", action="store_true", help="leave javac reachable")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    results = [one_start(args.python, args.src, args.jdk, args.timeout) for _ in range(args.runs)]
    times = [r["seconds"] for r in results if r["seconds"] is not None]
    shape = "JDK" if args.jdk else "JRE only"
    print("source: %s, %s, empty HOME, %d runs" % (args.src, shape, args.runs))
    for index, result in enumerate(results, 1):
        print(
            "  run %d: first prediction %s, /ping plugin %s, front-end patches %s, javac run %s"
            % (
                index,
                "%.2f s" % result["seconds"] if result["seconds"] is not None else "never",
                "yes" if result["plugin"] else "no",
                "yes" if result["patches"] else "no",
                "yes" if result["compiled"] else "no",
            )
        )
    if not times:
        print("no run served")
        return 1
    print("median first prediction: %.2f s" % statistics.median(times))
    return 0


if __name__ == "__main__":
    sys.exit(main())

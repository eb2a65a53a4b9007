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
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
FRUIT_MODEL = os.path.join(REPO, "examples", "fruit", "model")
BODY = b"[[182, 7.4, 12.9, 0.2]]"
JDK_ONLY_TOOLS = ("javac", "jar", "jarsigner", "javadoc", "jshell", "jlink", "jdeps", "jmod")


def free_port() -> int:
    """A free loopback port below 32767 (MMS's limit)."""
    for port in range(21000, 32000, 7):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port")


def jre_only_path(root: str) -> dict:
    """PATH and JAVA_HOME with java and without the JDK's tools."""
    java = shutil.which("java")
    if java is None:
        raise SystemExit("no java on PATH")
    java_home = os.path.join(root, "jre")
    os.makedirs(os.path.join(java_home, "bin"))
    os.symlink(os.path.realpath(java), os.path.join(java_home, "bin", "java"))
    bin_dir = os.path.join(root, "bin")
    os.makedirs(bin_dir)
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for name in os.listdir(directory):
            target = os.path.join(bin_dir, name)
            if name in JDK_ONLY_TOOLS or os.path.lexists(target):
                continue
            os.symlink(os.path.join(directory, name), target)
    return {"PATH": bin_dir, "JAVA_HOME": java_home}


def one_start(python: str, src: str, jdk: bool, timeout: float) -> dict:
    root = tempfile.mkdtemp(prefix="smi-cold-")
    try:
        base = os.path.join(root, "ml")
        shutil.copytree(FRUIT_MODEL, os.path.join(base, "model"))
        for name in ("home", "tmp"):
            os.makedirs(os.path.join(root, name))
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAGEMAKER_")}
        if not jdk:
            env.update(jre_only_path(root))
        env.update(
            {
                "HOME": os.path.join(root, "home"),
                "TMPDIR": os.path.join(root, "tmp"),
                "SAGEMAKER_BASE_DIR": base,
                "SAGEMAKER_BIND_TO_PORT": str(port),
                "SAGEMAKER_BIND_ADDRESS": "127.0.0.1",
                "SAGEMAKER_MMS_CONFIG_FILE": os.path.join(root, "mms.properties"),
                "PYTHONPATH": src,
            }
        )
        log_path = os.path.join(root, "server.log")
        script = "from sagemaker_inference import model_server; model_server.start_model_server()"
        started = time.monotonic()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [python, "-c", script], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root
            )
        seconds = None
        url = "http://127.0.0.1:%d/invocations" % port
        while time.monotonic() - started < timeout and proc.poll() is None:
            request = urllib.request.Request(
                url, data=BODY, headers={"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    if response.status == 200:
                        seconds = time.monotonic() - started
                        break
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
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

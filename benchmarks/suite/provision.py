"""Everything the benchmark needs before it measures: wrk, virtual environments (1.10.1, this
project, the peers), the model directory and request bodies, the AppCDS archive, and the
description of the machine and the installed versions that the report prints."""

import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Dict, List, Optional

import peers
from suite.common import (
    BODIES,
    BODY_DIR,
    CDS_ARCHIVE,
    HERE,
    MODEL_DIR,
    OLD_REQUIREMENTS,
    OLD_VENV,
    PROJECT_VENV,
    REPO,
    WORK,
    log,
    run,
    venv_python,
)


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    log("installing wrk with apt-get")
    run(["apt-get", "update", "-qq"], stdout=subprocess.DEVNULL)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "install", "-y", "-qq", "wrk"], stdout=subprocess.DEVNULL, env=env)
    return shutil.which("wrk") or "/usr/bin/wrk"


def ensure_venv(venv: str, requirements, marker_sources=()) -> str:
    """Creates venv and pip-installs requirements unless its marker is newer than the sources."""
    python = venv_python(venv)
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
    spec = {name: body.as_list() for name, body in BODIES.items()}
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
            python = venv_python(peers.VENVS[stack][0])
            done = subprocess.run(
                [python, "-c", code, *packages[stack]], capture_output=True, text=True
            )
            versions[stack] = " ".join(done.stdout.split())
    return versions


# ---------------------------------------------------------------- codecs


@dataclass
class Provisioned:
    """What the measurements run with: wrk, the two interpreters, the peers that failed."""

    wrk: str
    old_python: str
    project_python: str
    unavailable: Dict[str, str]


def provision(only: List[str], project_python: Optional[str]) -> Provisioned:
    """Installs or reuses everything the ``only`` stacks need (``project_python``: an existing
    environment with this project installed, else benchmarks/.work/venv-project)."""
    wrk = ensure_wrk()
    old_python = ensure_venv(OLD_VENV, OLD_REQUIREMENTS)
    if not project_python:
        project_python = ensure_venv(
            PROJECT_VENV,
            ["-e", REPO],  # a default install: orjson comes as a dependency
            marker_sources=[os.path.join(REPO, "setup.py")],
        )
    prepare_model_and_bodies(project_python)
    unavailable = provision_peers(only)
    if "project-cds" in only:
        build_cds_archive(project_python)
    return Provisioned(wrk, old_python, project_python, unavailable)

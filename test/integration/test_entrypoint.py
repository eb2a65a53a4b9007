"""test/container/entrypoint.py, the containers' ENTRYPOINT, run without Docker.

SAGEMAKER_BASE_DIR stands in for /opt/ml. The image build itself is tested at the end and
skipped where no Docker engine runs.
"""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import requests

from sagemaker_inference.mms_config import free_port
from usability_helpers import (
    APPLE,
    ENTRYPOINT,
    FRUIT_MODEL,
    LEMON,
    ROOT,
    Server,
    server_env,
    stop,
    wait_until_ready,
)

pytestmark = pytest.mark.timeout(300)


def start_entrypoint(tmp_path, base_dir, **extra):
    port = free_port()
    settings = {"SAGEMAKER_BASE_DIR": str(base_dir), "SAGEMAKER_BIND_TO_PORT": str(port)}
    if extra.get("SAGEMAKER_MULTI_MODEL") != "true":
        # One worker keeps start-up small; multi-model runs with SageMaker's setting: none.
        settings["SAGEMAKER_MODEL_SERVER_WORKERS"] = "1"
    env = server_env(tmp_path, dict(settings, **extra))
    server = Server([sys.executable, ENTRYPOINT, "serve"], env, cwd=str(tmp_path))
    return server, port


def test_serve_single_model_and_sigterm(tmp_path):
    base = tmp_path / "opt_ml"
    shutil.copytree(FRUIT_MODEL, base / "model")
    server, port = start_entrypoint(tmp_path, base)
    try:
        wait_until_ready(port, server)
        answer = requests.post(
            "http://127.0.0.1:%d/invocations" % port,
            data="182,7.4,12.9,0.2\n105,5.4,2.5,0.5",
            headers={"Content-Type": "text/csv", "Accept": "text/csv"},
            timeout=30,
        )
        assert (answer.status_code, answer.text) == (200, "apple\nlemon\n")
        started = time.monotonic()
        assert stop(server, signal.SIGTERM) == 0
        assert time.monotonic() - started < 30
        assert server.wait_no_leftovers() == []
    finally:
        server.kill()


def test_serve_multi_model(tmp_path):
    base = tmp_path / "opt_ml"
    shutil.copytree(FRUIT_MODEL, base / "models" / "fruit" / "model")
    server, port = start_entrypoint(tmp_path, base, SAGEMAKER_MULTI_MODEL="true")
    try:
        wait_until_ready(port, server)
        url = "http://127.0.0.1:%d" % port
        loaded = requests.post(
            url + "/models",
            json={"model_name": "fruit", "url": str(base / "models" / "fruit" / "model")},
            timeout=120,
        )
        assert loaded.status_code == 200, loaded.text
        answer = requests.post(url + "/models/fruit/invoke", json=[LEMON], timeout=30)
        assert answer.status_code == 200 and answer.json()[0]["label"] == "lemon"
        assert stop(server, signal.SIGTERM) == 0
        assert server.wait_no_leftovers() == []
    finally:
        server.kill()


def test_a_failing_model_makes_the_entrypoint_exit_non_zero(tmp_path):
    base = tmp_path / "opt_ml"
    (base / "model" / "code").mkdir(parents=True)
    (base / "model" / "code" / "inference.py").write_text(
        "def model_fn(model_dir):\n    raise RuntimeError('no weights here')\n"
    )
    server, port = start_entrypoint(tmp_path, base)
    try:
        assert server.wait(timeout=240) != 0
        assert "no weights here" in server.output
        assert server.wait_no_leftovers() == []
    finally:
        server.kill()


def test_other_commands():
    usage = subprocess.run([sys.executable, ENTRYPOINT], capture_output=True, timeout=30)
    assert usage.returncode == 2 and b"usage" in usage.stderr
    train = subprocess.run([sys.executable, ENTRYPOINT, "train"], capture_output=True, timeout=30)
    assert train.returncode == 2
    echo = subprocess.run(
        [sys.executable, ENTRYPOINT, "echo", "hi"], capture_output=True, timeout=30
    )
    assert (echo.returncode, echo.stdout) == (0, b"hi\n")
    missing = subprocess.run(
        [sys.executable, ENTRYPOINT, "no-such-command-xyz"], capture_output=True, timeout=30
    )
    assert missing.returncode == 127


# ---- the images (need a Docker engine) -------------------------------------------------------


def _docker_engine_reason():
    if shutil.which("docker") is None:
        return "the docker client is not installed"
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return "docker info failed: %s" % error
    if info.returncode != 0:
        return (
            "no Docker engine is running (docker info: %s)"
            % (info.stderr.decode("utf-8", "replace").strip().splitlines() or ["no output"])[-1]
        )
    return None


def _build(dockerfile, tag):
    return subprocess.run(
        ["docker", "build", "-f", os.path.join("test", "container", dockerfile), "-t", tag, "."],
        cwd=ROOT,
        capture_output=True,
        timeout=1800,
    )


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "Dockerfile.multi-model"])
def test_image_builds_and_serves(dockerfile):
    reason = _docker_engine_reason()
    if reason:
        pytest.skip("cannot build %s: %s" % (dockerfile, reason))
    tag = "sagemaker-inference-test:%s" % dockerfile.lower().replace(".", "-")
    built = _build(dockerfile, tag)
    assert built.returncode == 0, built.stderr.decode()[-4000:]
    port = free_port()
    name = "sagemaker-inference-test-%d" % port
    subprocess.run(
        ["docker", "run", "-d", "--rm", "--name", name, "-p", "%d:8080" % port, tag, "serve"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        wait_until_ready(port, timeout=180)
        url = "http://127.0.0.1:%d" % port
        if dockerfile == "Dockerfile":
            answer = requests.post(url + "/invocations", json=[APPLE], timeout=30)
        else:
            loaded = requests.post(
                url + "/models",
                json={"model_name": "fruit", "url": "/opt/ml/models/fruit/model"},
                timeout=120,
            )
            assert loaded.status_code == 200, loaded.text
            answer = requests.post(url + "/models/fruit/invoke", json=[APPLE], timeout=30)
        assert answer.status_code == 200 and answer.json()[0]["label"] == "apple"
        stopped = subprocess.run(
            ["docker", "stop", "-t", "30", name], capture_output=True, timeout=60
        )
        assert stopped.returncode == 0
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)


def test_dockerfiles_follow_the_contract():
    for dockerfile, multi in (("Dockerfile", False), ("Dockerfile.multi-model", True)):
        with open(os.path.join(ROOT, "test", "container", dockerfile)) as handle:
            text = handle.read()
        assert "com.amazonaws.sagemaker.capabilities.accept-bind-to-port=true" in text
        assert ("com.amazonaws.sagemaker.capabilities.multi-models=true" in text) is multi
        assert 'ENTRYPOINT ["python3", "/usr/local/bin/entrypoint.py"]' in text
        assert "openjdk" in text and "pip install" in text
        # the AppCDS archive is made at image build, after the install, and the server told
        build = text.index("RUN python -m sagemaker_inference.cds /opt/sagemaker-mms.jsa")
        assert text.index("pip install") < build
        assert "ENV SAGEMAKER_MMS_CDS_ARCHIVE=/opt/sagemaker-mms.jsa" in text

"""The ``sagemaker-inference`` command against the real Multi Model Server.

Each test starts ``sagemaker-inference serve`` as a user would (its own process session, like a
terminal's foreground job), reads what it prints, talks to it with ``sagemaker-inference invoke``
and curl, and stops it the way a user does (Ctrl-C = SIGINT to the whole process group).
"""

import json
import os
import re
import shutil
import signal
import subprocess
import textwrap

import pytest
import requests

from sagemaker_inference.mms_config import free_port
from usability_helpers import (
    APPLE,
    FRUIT_MODEL,
    LEMON,
    Server,
    console_script,
    loaded,
    server_env,
    stop,
    wait_until_ready,
)

pytestmark = pytest.mark.timeout(300)


def serve(tmp_path, *args, extra_env=None):
    port = free_port()
    argv = console_script() + ["serve", "--port", str(port)] + list(args)
    server = Server(argv, server_env(tmp_path, extra_env), cwd=str(tmp_path))
    return server, port


def invoke(port, *args, data=None):
    return subprocess.run(
        console_script() + ["invoke", "--port", str(port)] + list(args),
        input=data,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture
def fruit_server(tmp_path):
    server, port = serve(tmp_path, "--model-dir", FRUIT_MODEL, "--workers", "1")
    with loaded(server):
        yield server, port


def test_serve_prints_where_it_listens_and_the_load_time(fruit_server):
    server, port = fruit_server
    lines = server.lines
    assert re.match(
        r"sagemaker-inference: serving .*examples/fruit/model on port %d" % port, lines[0]
    )
    assert any("listening on http://localhost:%d" % port in line for line in lines)
    loaded = [line for line in lines if "model loaded in" in line][0]
    assert re.search(r"model loaded in \d+\.\d s", loaded)
    # only summary lines reach the terminal: no raw MMS log lines
    assert all(line.startswith("sagemaker-inference: ") for line in lines), server.output


def test_invoke_and_curl_get_predictions(fruit_server, tmp_path):
    server, port = fruit_server
    result = invoke(port, "-d", json.dumps([APPLE, LEMON]))
    assert result.returncode == 0, result.stderr
    assert [row["label"] for row in json.loads(result.stdout)] == ["apple", "lemon"]

    body = tmp_path / "fruit.csv"
    body.write_text("182,7.4,12.9,0.2\n105,5.4,2.5,0.5\n")
    result = invoke(port, str(body), "--accept", "text/csv")
    assert (result.returncode, result.stdout) == (0, b"apple\nlemon\n")

    result = invoke(
        port, "--content-type", "text/csv", "--accept", "text/csv", data=b"105,5.4,2.5,0.5"
    )
    assert (result.returncode, result.stdout) == (0, b"lemon\n")

    # the README's command
    result = invoke(port, "-d", "[[105, 5.4, 2.5, 0.5]]", "--accept", "text/csv")
    assert (result.returncode, result.stdout) == (0, b"lemon\n")

    if shutil.which("curl"):
        curl = subprocess.run(
            [
                "curl",
                "-s",
                "-H",
                "Content-Type: application/json",
                "-d",
                "[[182, 7.4, 12.9, 0.2]]",
                "http://localhost:%d/invocations" % port,
            ],
            capture_output=True,
            timeout=30,
        )
        assert json.loads(curl.stdout)[0]["label"] == "apple"


def test_invoke_reports_a_bad_request_and_serve_shows_it(fruit_server):
    server, port = fruit_server
    result = invoke(port, "-d", "[[1, 2]]")
    assert result.returncode == 1
    assert b"HTTP 400" in result.stderr and b"expected rows of 4 numbers" in result.stderr
    assert result.stdout == b""
    server.wait_for_line(lambda line: "expected rows of 4 numbers" in line, timeout=10)
    assert invoke(port, "-d", json.dumps([APPLE])).returncode == 0


def test_ctrl_c_stops_everything(fruit_server):
    server, port = fruit_server
    assert stop(server, signal.SIGINT, group=True) in (0, 130)
    assert server.wait_no_leftovers() == []
    assert any("stopped (exit code" in line for line in server.lines)
    with pytest.raises(requests.ConnectionError):
        requests.get("http://127.0.0.1:%d/ping" % port, timeout=2)


def test_a_failing_model_fn_exits_non_zero_with_one_line(tmp_path):
    model_dir = tmp_path / "broken" / "model"
    (model_dir / "code").mkdir(parents=True)
    (model_dir / "code" / "inference.py").write_text(textwrap.dedent("""
            def model_fn(model_dir):
                raise ValueError("weights are corrupt")
            """))
    server, port = serve(tmp_path, "--model-dir", str(model_dir), "--workers", "1")
    try:
        code = server.wait(timeout=240)
        assert code != 0
        errors = [line for line in server.lines if "weights are corrupt" in line]
        assert errors, server.output
        assert re.search(
            r"error: Model failed to load: ValueError: weights are corrupt \(.*inference.py:3\)",
            errors[0],
        ), server.output
        assert not any("Traceback" in line for line in server.lines)
        assert server.wait_no_leftovers() == []
    finally:
        server.kill()


def test_a_busy_port_is_refused_at_once(tmp_path):
    port = free_port()
    import socket

    with socket.socket() as busy:
        busy.bind(("0.0.0.0", port))
        busy.listen(1)
        result = subprocess.run(
            console_script() + ["serve", "--model-dir", FRUIT_MODEL, "--port", str(port)],
            capture_output=True,
            timeout=60,
            env=server_env(tmp_path),
            cwd=str(tmp_path),
        )
    assert result.returncode == 2
    assert b"port %d is already in use" % port in result.stdout


def test_missing_java_is_one_line_with_the_fix(tmp_path):
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    env = server_env(tmp_path, {"PATH": str(empty_bin)})
    env.pop("JAVA_HOME", None)
    result = subprocess.run(
        console_script() + ["serve", "--model-dir", FRUIT_MODEL, "--port", str(free_port())],
        capture_output=True,
        timeout=120,
        env=env,
        cwd=str(tmp_path),
    )
    assert result.returncode != 0
    errors = [line for line in result.stdout.decode().splitlines() if "error:" in line]
    assert len(errors) == 1 and "needs a Java 11+ runtime" in errors[0], result.stdout
    assert "openjdk-17-jre-headless" in errors[0]


def test_invoke_without_a_server_says_so(tmp_path):
    result = invoke(free_port(), "-d", "[1]")
    assert result.returncode == 3
    assert b"cannot reach" in result.stderr


def test_multi_model_serve_and_invoke_by_name(tmp_path):
    models = tmp_path / "zoo"
    os.makedirs(models)
    shutil.copytree(FRUIT_MODEL, models / "fruit" / "model")
    server, port = serve(tmp_path, "--multi-model", "--model-dir", str(models), "--workers", "1")
    try:
        server.wait_for_line(lambda line: "ready after" in line)
        load = json.dumps({"model_name": "fruit", "url": str(models / "fruit" / "model")})
        if shutil.which("curl"):  # the README's command
            loaded = subprocess.run(
                [
                    "curl",
                    "-s",
                    "-f",
                    "-X",
                    "POST",
                    "-H",
                    "Content-Type: application/json",
                    "-d",
                    load,
                    "http://localhost:%d/models" % port,
                ],
                capture_output=True,
                timeout=120,
            )
            assert loaded.returncode == 0, loaded.stdout + loaded.stderr
        else:
            loaded = requests.post(
                "http://127.0.0.1:%d/models" % port,
                data=load,
                headers={"Content-Type": "application/json"},
                timeout=120,
            )
            assert loaded.status_code == 200, loaded.text
        result = invoke(port, "--model", "fruit", "-d", json.dumps([LEMON]), "-a", "text/csv")
        assert (result.returncode, result.stdout) == (0, b"lemon\n"), result.stderr
        result = invoke(port, "--model", "nope", "-d", "[1]")
        assert result.returncode == 1 and b"HTTP 404" in result.stderr
    finally:
        if server.process.poll() is None:
            stop(server, signal.SIGINT, group=True)
        server.kill()


def test_python_dash_m_serves_a_directory_with_another_name(tmp_path):
    served = tmp_path / "my-fruit"
    shutil.copytree(FRUIT_MODEL, served)
    port = free_port()
    server = Server(
        [
            os.sys.executable,
            "-m",
            "sagemaker_inference",
            "serve",
            "--model-dir",
            str(served),
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        server_env(tmp_path),
        cwd=str(tmp_path),
    )
    try:
        wait_until_ready(port, server)
        answer = requests.post(
            "http://127.0.0.1:%d/invocations" % port, json=[APPLE], headers={"Accept": "text/csv"}
        )
        assert (answer.status_code, answer.text) == (200, "apple\n")
        assert stop(server, signal.SIGINT, group=True) in (0, 130)
        assert server.wait_no_leftovers() == []
    finally:
        server.kill()

"""The server as SageMaker deploys it: a Java runtime without a JDK, an empty HOME, no tuning
variables, a long TMPDIR, and an entrypoint that may be SIGKILLed.

Every server of the suite already runs with PATH and JAVA_HOME holding java but no javac
(server_harness.jre_only_shape); the tests here check what that shape must still give.
"""

import os
import shutil
import signal
import time
import zipfile

import psutil
import pytest
import requests

from sagemaker_inference import model_server, plugin
from process_marks import wait_gone
from server_harness import (
    MARKER_ENV,
    load_model,
    slow_loading_inference,
    Server,
    leftover_processes,
    running_server,
    write_model,
)
from usability_helpers import FRUIT_MODEL, console_script, server_env
from usability_helpers import Server as CliServer

pytestmark = pytest.mark.timeout(240)

LOAD_SECONDS = 5
SLOW_INFERENCE = slow_loading_inference(LOAD_SECONDS)


def _java_process(marker):
    for proc in leftover_processes(marker):
        try:
            if model_server.MMS_NAMESPACE in proc.cmdline():
                return proc
        except psutil.Error:
            continue
    pytest.fail("no Java process of the server found")


def _wait_gone(marker, timeout=10.0):
    return wait_gone(MARKER_ENV, marker, timeout)


def _ping(server):
    try:
        return requests.get(server.url + "/ping", timeout=5).status_code
    except requests.RequestException:
        return None


def test_jre_only_image_gets_readiness_and_the_fixed_decoder(make_server):
    server = make_server()
    environment = server.environment()
    search = environment["PATH"].split(os.pathsep) + [os.path.join(environment["JAVA_HOME"], "bin")]
    assert shutil.which("javac", path=os.pathsep.join(search)) is None
    assert shutil.which("java", path=os.pathsep.join(search)) is not None
    home = environment["HOME"]
    assert os.listdir(home) == []

    write_model(server.base_dir, {"inference.py": SLOW_INFERENCE})
    server.start()
    server.wait_until(lambda: _ping(server) is not None)
    answers = [_ping(server)]
    deadline = time.monotonic() + 60
    while answers[-1] != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
        answers.append(_ping(server))
    assert answers[0] == 503, answers
    assert answers[-1] == 200, (answers, server.log()[-3000:])

    java = _java_process(server.marker).cmdline()
    entries = java[java.index("-cp") + 1].split(":")
    assert entries[0] == plugin.PATCHES.shipped_jar(), entries
    with zipfile.ZipFile(entries[0]) as jar:
        assert set(plugin.PATCHED_CLASSES) <= set(jar.namelist())
    assert (
        "plugins_path={}".format(os.path.dirname(plugin.PLUGIN.shipped_jar()))
        in open(environment["SAGEMAKER_MMS_CONFIG_FILE"], encoding="utf-8").read().splitlines()
    )
    assert "unavailable" not in server.log()
    assert not os.path.exists(os.path.join(home, ".cache"))
    assert server.stop() == 0


def test_sigkilled_start_model_server_takes_every_process_with_it():
    with running_server(
        prepare=lambda s: write_model(s.base_dir, {"inference.py": SLOW_INFERENCE}),
        ready=Server.wait_for_ping,
    ) as server:
        before = leftover_processes(server.marker)
        assert len(before) >= 4, before  # entrypoint, Java, backend, worker
        server.send(signal.SIGKILL)
        server.process.wait(timeout=10)
        assert _wait_gone(server.marker) == []
        with pytest.raises(requests.ConnectionError):
            requests.get(server.url + "/ping", timeout=2)


def test_sigkilled_serve_cli_takes_every_process_with_it(tmp_path):
    port = model_server.mms_config.free_port()
    argv = console_script() + ["serve", "--model-dir", FRUIT_MODEL, "--port", str(port)]
    server = CliServer(argv, server_env(tmp_path), cwd=str(tmp_path))
    try:
        server.wait_for_line(lambda line: "model loaded in" in line)
        assert len(server.leftovers()) >= 4
        os.kill(server.process.pid, signal.SIGKILL)  # the CLI process alone, not its group
        server.wait(timeout=10)
        assert server.wait_no_leftovers(timeout=10) == []
        with pytest.raises(requests.ConnectionError):
            requests.get("http://127.0.0.1:%d/ping" % port, timeout=2)
    finally:
        server.kill()


def test_a_long_tmpdir_still_serves(make_server):
    server = make_server()
    long_tmp = os.path.join(server.root, "t" * 60, "x" * 60)
    os.makedirs(long_tmp)
    server.extra_env.update({"TMPDIR": long_tmp, "TEMP": long_tmp})
    write_model(server.base_dir, {"inference.py": SLOW_INFERENCE})
    server.start()
    server.wait_for_ping()
    response = requests.post(server.url + "/invocations", data=b"x", timeout=30)
    assert (response.status_code, response.content) == (200, b"ok")
    assert "too long for MMS's Unix socket paths" in server.log()
    assert server.stop() == 0


def test_a_worker_dying_at_start_up_is_named_in_the_failure(make_server):
    server = make_server(handler="no_such_handler_module")
    write_model(server.base_dir, {"inference.py": SLOW_INFERENCE})
    server.start()
    code = server.wait_exit(timeout=120)
    server.assert_nothing_left()
    assert code == 2, server.log()[-3000:]
    last = [line for line in server.log().splitlines() if line.strip()][-1]
    assert "Model failed to load" in last, last
    assert "No module named 'no_such_handler_module'" in last, last


def test_multi_model_endpoint_serves_with_no_worker_count(make_server):
    server = make_server(env={"SAGEMAKER_MULTI_MODEL": "true"})
    assert "SAGEMAKER_MODEL_SERVER_WORKERS" not in server.environment()
    model = write_model(server.base_dir, {"inference.py": SLOW_INFERENCE}, name="slow")
    server.start()
    server.wait_for_ping()
    loaded = load_model(server, "slow", model)
    assert loaded.status_code == 200, loaded.text
    described = requests.get(server.url + "/models/slow", timeout=10).json()
    # MMS 1.1 describes one model as an object (later versions: a list of one)
    entry = described[0] if isinstance(described, list) else described
    assert len(entry["workers"]) == 1, described
    answer = requests.post(server.url + "/models/slow/invoke", data=b"x", timeout=30)
    assert (answer.status_code, answer.content) == (200, b"ok")
    assert server.stop() == 0

"""Regression test for MMS 1.1's split-frame defect in its worker response decoder.

After many identical answers MMS reads the worker's socket in chunks of about their size, so a
longer error answer arrives split across reads. MMS's own ModelResponseDecoder then failed on
the frame ("exceed limit" / "Invalid message size") and the worker was replaced: the request
got 500 "Worker died.". The project ships a fixed decoder in a patches jar that must come before
model-server.jar on java's -cp; with it each such request gets the model's own 400.
"""

import json
import os
import zipfile

import psutil
import pytest

import server_harness
import reliability_server
from sagemaker_inference import model_server, plugin

pytestmark = pytest.mark.timeout(300)

# predict_fn answers [-n] with a 400 whose reason phrase is n characters long.
PHRASE_INFERENCE = """
import numpy as np

from sagemaker_inference import errors


def model_fn(model_dir):
    return float(np.abs(np.load(model_dir + "/weights.npy")).max())


def predict_fn(data, model):
    data = np.asarray(data, dtype=float)
    if data.shape == (1,) and data[0] < 0:
        raise errors.GenericInferenceToolkitError(400, "bad", "k" * int(-data[0]))
    return data * model
"""

PHRASE_LENGTHS = range(20, 72, 6)  # 20, 26, ..., 68
VALID_BEFORE_EACH = 60
LOG_PROBLEMS = ("Worker died", "exceed limit")


@pytest.fixture(scope="module")
def server():
    env = {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}
    yield from reliability_server.module_server(env, source=PHRASE_INFERENCE)


def _java_command_line(server) -> list:
    for proc in server_harness.leftover_processes(server.marker):
        try:
            cmdline = proc.cmdline()
        except psutil.Error:
            continue
        if model_server.MMS_NAMESPACE in cmdline:
            return cmdline
    pytest.fail("no Java process of the server found")


def test_java_class_path_puts_the_patches_jar_before_model_server_jar(server):
    cmdline = _java_command_line(server)
    entries = cmdline[cmdline.index("-cp") + 1].split(":")
    patches = [i for i, entry in enumerate(entries) if entry.endswith(plugin.PATCHES_JAR_NAME)]
    assert patches, entries
    assert os.path.isfile(entries[patches[0]])
    with zipfile.ZipFile(entries[patches[0]]) as jar:
        assert set(plugin.PATCHED_CLASSES) <= set(jar.namelist())
    server_jar = os.path.realpath(plugin.model_server_jar())
    covering = [
        i
        for i, entry in enumerate(entries)
        if os.path.realpath(entry) == server_jar
        or (entry.endswith("/*") and os.path.realpath(entry[:-2]) == os.path.dirname(server_jar))
    ]
    assert covering, entries
    assert patches[0] < covering[0], entries


def test_long_reason_phrases_after_steady_traffic_keep_the_worker(server):
    answers = []
    for length in PHRASE_LENGTHS:
        for _ in range(VALID_BEFORE_EACH):
            assert reliability_server.answers_correctly(server.port)
        status, reason, _, _ = reliability_server.invoke(
            server.port, json.dumps([-length]).encode()
        )
        answers.append((length, status, reason))
        if status != 400:
            reliability_server.wait_for_worker(server.port)
    log = server.log()
    assert [status for _, status, _ in answers] == [400] * len(PHRASE_LENGTHS), answers
    assert [reason for _, _, reason in answers] == ["k" * n for n in PHRASE_LENGTHS]
    for problem in LOG_PROBLEMS:
        assert problem not in log, [line for line in log.splitlines() if problem in line][:5]

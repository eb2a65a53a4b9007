"""environment read by a fresh interpreter (moved from test/unit: it starts a process)."""

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize("raw", ["1", "true", "yes", "on", "TRUE", "0", "false", "no", ""])
def test_model_dir_and_enable_multi_model_agree(tmp_path, raw):
    # A fresh interpreter: both module-level readings happen at import, from one rule.
    script = (
        "from sagemaker_inference import environment, model_server\n"
        "print(environment.model_dir, model_server.ENABLE_MULTI_MODEL, environment.multi_model)\n"
    )
    env = dict(os.environ, SAGEMAKER_BASE_DIR=str(tmp_path), SAGEMAKER_MULTI_MODEL=raw)
    env["SAGEMAKER_MMS_CONFIG_FILE"] = str(tmp_path / "mms.properties")
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    expected = raw.lower() in ("1", "true", "yes", "on")
    assert out == [
        str(tmp_path / ("models" if expected else "model")),
        str(expected),
        str(expected),
    ]

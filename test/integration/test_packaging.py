"""The wheel built from this tree carries what a JRE-only container needs to start."""

import os
import subprocess
import sys
import zipfile

import pytest

from sagemaker_inference import plugin

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SRC = os.path.join(ROOT, "src")

pytestmark = pytest.mark.timeout(300)


def test_wheel_ships_the_prebuilt_jars_and_their_source(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            ROOT,
        ],
        check=True,
        timeout=240,
        cwd=str(tmp_path),
    )
    wheels = [name for name in os.listdir(str(tmp_path)) if name.endswith(".whl")]
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(str(tmp_path / wheels[0])) as wheel:
        names = set(wheel.namelist())
        for artifact in plugin.ARTIFACTS:
            inside = os.path.relpath(artifact.shipped_jar(), SRC)
            assert inside in names, inside
            with open(artifact.shipped_jar(), "rb") as shipped:
                assert wheel.read(inside) == shipped.read()
            for source in artifact.sources():
                assert os.path.relpath(source, SRC) in names, source
        metadata = next(name for name in names if name.endswith(".dist-info/METADATA"))
        requires = [
            line.split(":", 1)[1].strip()
            for line in wheel.read(metadata).decode("utf-8").splitlines()
            if line.startswith("Requires-Dist:")
        ]
    assert "sagemaker_inference/etc/log4j2.xml" in names
    # A plain `pip install` brings the JSON fast path along (not only the `fast` extra).
    assert "orjson" in requires, requires

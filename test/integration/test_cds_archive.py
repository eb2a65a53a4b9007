"""The AppCDS archive through the real JVM: built by its command, used, and never fatal."""

import os
import subprocess
import sys

import pytest

from server_harness import BASIC_INFERENCE, Server, running_server, write_model

from sagemaker_inference import cds

pytestmark = pytest.mark.timeout(400)


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """``python -m sagemaker_inference.cds`` as an image build runs it (empty HOME, own TMPDIR)."""
    root = tmp_path_factory.mktemp("cds")
    env = Server(str(root)).environment()
    path = str(root / "mms.jsa")
    done = subprocess.run(
        [sys.executable, "-m", "sagemaker_inference.cds", path],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert os.path.getsize(path) > 1_000_000
    assert os.path.isfile(path + cds.KEY_SUFFIX)
    return path


def _serve(env):
    return running_server(
        env, lambda server: write_model(server.base_dir, {"inference.py": BASIC_INFERENCE})
    )


def test_the_built_archive_is_used_and_the_server_serves(archive):
    with _serve({cds.CDS_ARCHIVE_ENV: archive}) as server:
        log = server.log()
    assert "-XX:SharedArchiveFile={}".format(archive) in log
    assert "starting without" not in log


def test_a_corrupt_archive_with_a_matching_key_does_not_stop_the_jvm(archive, tmp_path):
    broken = str(tmp_path / "broken.jsa")
    with open(broken, "wb") as handle:
        handle.write(os.urandom(200_000))
    with open(archive + cds.KEY_SUFFIX) as source, open(broken + cds.KEY_SUFFIX, "w") as target:
        target.write(source.read())
    with _serve({cds.CDS_ARCHIVE_ENV: broken}) as server:
        assert "-XX:SharedArchiveFile={}".format(broken) in server.log()


def test_a_stale_key_starts_without_the_archive(archive, tmp_path):
    stale = str(tmp_path / "stale.jsa")
    with open(archive, "rb") as source, open(stale, "wb") as target:
        target.write(source.read())
    with open(stale + cds.KEY_SUFFIX, "w") as handle:
        handle.write("0" * 64 + "\n")
    with _serve({cds.CDS_ARCHIVE_ENV: stale}) as server:
        log = server.log()
    assert "-XX:SharedArchiveFile" not in log
    assert "made for another java or other jars" in log

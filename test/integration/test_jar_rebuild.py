"""Rebuilding the jars with a real JDK, and the patched decoder run against MMS's classes.

These run javac and java, so they live here rather than in test/unit. They skip, saying why,
only where no JDK is installed (the server itself never needs one).
"""

import os
import shutil
import subprocess
import zipfile

import pytest

from sagemaker_inference import plugin
from sagemaker_inference.plugin import __main__ as plugin_cli
from sagemaker_inference.plugin import build

SPLIT_CHECK = os.path.join(os.path.dirname(__file__), "java", "DecoderSplitCheck.java")
needs_jdk = pytest.mark.skipif(
    build.find_javac() is None, reason="no javac: rebuilding the jars needs a JDK"
)


@needs_jdk
def test_rebuild_into_a_cache_matches_the_shipped_jars(tmp_path, capsys):
    cache = str(tmp_path / "cache")
    assert plugin_cli.main(["build", "--cache-dir", cache]) == 0
    built = capsys.readouterr().out.split()
    assert len(built) == len(plugin.ARTIFACTS)
    for artifact, jar in zip(plugin.ARTIFACTS, built):
        digest = plugin.source_digest(artifact.sources())
        assert jar == artifact.cached_jar(cache, digest)
        assert plugin.recorded_digest(jar) == digest
        with zipfile.ZipFile(jar) as new, zipfile.ZipFile(artifact.shipped_jar()) as shipped:
            assert new.namelist() == shipped.namelist()
    assert plugin.find_jar(plugin.PLUGIN, cache) == plugin.PLUGIN.shipped_jar()


@needs_jdk
def test_patched_decoder_waits_for_split_frames(tmp_path):
    """The shipped decoder, loaded ahead of MMS's own, decodes frames split at every byte."""
    jar = plugin.PATCHES.shipped_jar()
    class_path = "{}:{}".format(jar, plugin.model_server_jar())
    classes = str(tmp_path / "check")
    subprocess.run(
        [
            build.find_javac(),
            "-nowarn",
            "-proc:none",
            "-cp",
            class_path,
            "-d",
            classes,
            SPLIT_CHECK,
        ],
        check=True,
        timeout=300,
    )
    java = shutil.which("java")
    result = subprocess.run(
        [java, "-XX:TieredStopAtLevel=1", "-cp", classes + ":" + class_path, "DecoderSplitCheck"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=300,
    )
    output = result.stdout.decode("utf-8", "replace")
    assert result.returncode == 0, output
    assert "DECODER OK" in output
    assert "loaded from file:{}".format(jar) in output

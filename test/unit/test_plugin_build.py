"""The jar writer and javac discovery of plugin.build (no compiler is run here)."""

import os
import stat
import zipfile

import pytest

from sagemaker_inference import plugin
from sagemaker_inference.plugin import build


def _class_tree(root):
    classes = root / "classes"
    (classes / "a" / "b").mkdir(parents=True)
    (classes / "a" / "b" / "Z.class").write_bytes(b"\xca\xfe\xba\xbezz")
    (classes / "a" / "A.class").write_bytes(b"\xca\xfe\xba\xbeaa")
    return classes


def test_written_jar_is_reproducible_and_records_the_digest(tmp_path):
    classes = _class_tree(tmp_path)
    first, second = str(tmp_path / "1.jar"), str(tmp_path / "2.jar")
    build.write_jar(first, str(classes), [], "d1g3st")
    os.utime(str(classes / "a" / "A.class"), (1, 1))  # file times must not matter
    build.write_jar(second, str(classes), [], "d1g3st")
    with open(first, "rb") as one, open(second, "rb") as two:
        assert one.read() == two.read()
    assert plugin.recorded_digest(first) == "d1g3st"
    with zipfile.ZipFile(first) as jar:
        assert jar.namelist() == ["META-INF/MANIFEST.MF", "a/A.class", "a/b/Z.class"]


def test_resources_keep_their_path_below_java_src():
    service = next(path for path in plugin.PLUGIN.sources() if "META-INF" in path)
    assert os.path.relpath(service, plugin.JAVA_SOURCE_DIR).startswith("META-INF/services/")


def test_no_javac_is_a_build_error_that_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    assert build.find_javac() is None
    with pytest.raises(build.BuildError, match="javac .* was not found"):
        build.build(plugin.PLUGIN, str(tmp_path / "out.jar"))
    assert not (tmp_path / "out.jar").exists()


def test_java_home_javac_is_preferred(tmp_path, monkeypatch):
    javac = tmp_path / "jdk" / "bin" / "javac"
    javac.parent.mkdir(parents=True)
    javac.write_text("#!/bin/sh\n")
    javac.chmod(javac.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    monkeypatch.setenv("PATH", "")
    assert build.find_javac() == str(javac)

import os
import stat

import pytest

from sagemaker_inference import environment, java_runtime, mms_command


def test_find_java_missing_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(java_runtime.JavaNotFoundError, match="openjdk-17-jre-headless"):
        java_runtime.find_java()


def test_find_java_bad_java_home(monkeypatch, tmp_path):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(java_runtime.JavaNotFoundError, match="JAVA_HOME"):
        java_runtime.find_java()


def fake_java(home):
    java = home / "bin" / "java"
    java.parent.mkdir()
    java.write_text("#!/bin/sh\n")
    java.chmod(java.stat().st_mode | stat.S_IXUSR)
    return str(java)


def test_find_java_from_java_home(monkeypatch, tmp_path):
    java = fake_java(tmp_path)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    assert java_runtime.find_java() == java


def test_mms_home_holds_the_frontend_jar():
    assert os.path.isfile(
        os.path.join(java_runtime.mms_home(), "mms", "frontend", "model-server.jar")
    )


def test_java_home_comes_from_the_environment_passed(tmp_path):
    java = fake_java(tmp_path)
    assert java_runtime.find_java(environment.Environment({"JAVA_HOME": str(tmp_path)})) == java


def test_mms_command_keeps_the_names_it_had():
    assert mms_command.find_java is java_runtime.find_java
    assert mms_command.JavaNotFoundError is java_runtime.JavaNotFoundError
    assert mms_command.class_path is java_runtime.class_path

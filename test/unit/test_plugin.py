import logging
import os
import shutil
import stat
import subprocess
import zipfile

import pytest

from sagemaker_inference import plugin

SERVICE_FILE = "META-INF/services/software.amazon.ai.mms.servingsdk.ModelServerEndpoint"
needs_javac = pytest.mark.skipif(
    shutil.which("javac") is None or plugin.model_server_jar() is None,
    reason="needs a JDK and multi-model-server",
)


@pytest.fixture
def no_jdk(tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("JAVA_HOME", raising=False)


@pytest.fixture
def fake_javac(tmp_path, monkeypatch):
    """A javac on PATH that records its arguments and exits with the status in FAKE_JAVAC_RC."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    log = tmp_path / "javac-calls.log"
    script = bin_dir / "javac"
    script.write_text(
        "#!/bin/sh\n"
        'echo "$*" >> "{log}"\n'
        'case "$*" in *"$FAKE_JAVAC_FAIL_ON"*) echo "error: boom ($FAKE_JAVAC_FAIL_ON)"; '
        "exit 1;; esac\n"
        "exit 0\n".format(log=log)
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("FAKE_JAVAC_FAIL_ON", "never-matches")
    return log


@pytest.fixture
def server_jar(tmp_path, monkeypatch):
    jar = tmp_path / "model-server.jar"
    jar.write_bytes(b"not really a jar")
    monkeypatch.setattr(plugin, "model_server_jar", lambda: str(jar))
    return jar


def _calls(log):
    return log.read_text().splitlines() if log.exists() else []


def test_source_tree_has_both_endpoints_and_service_file():
    names = [os.path.relpath(p, plugin.JAVA_SOURCE_DIR) for p in plugin._source_files()]
    assert SERVICE_FILE in [n.replace(os.sep, "/") for n in names]
    with open(os.path.join(plugin.JAVA_SOURCE_DIR, SERVICE_FILE)) as handle:
        services = handle.read().split()
    assert services == [
        "sagemaker.inference.plugin.PingEndpoint",
        "sagemaker.inference.plugin.ExecutionParametersEndpoint",
    ]
    for service in services:
        path = os.path.join(plugin.JAVA_SOURCE_DIR, *service.split(".")) + ".java"
        assert os.path.isfile(path), path


def test_cache_key_depends_on_sources_and_mms_version(tmp_path, monkeypatch, server_jar):
    source = tmp_path / "java"
    shutil.copytree(plugin.JAVA_SOURCE_DIR, str(source))
    monkeypatch.setattr(plugin, "JAVA_SOURCE_DIR", str(source))
    monkeypatch.setattr(plugin, "mms_version", lambda: "1.1.11")

    first = plugin.cache_key(plugin._source_files(), str(server_jar))
    assert first == plugin.cache_key(plugin._source_files(), str(server_jar))
    assert first.startswith("mms-1.1.11-")

    monkeypatch.setattr(plugin, "mms_version", lambda: "1.1.12")
    assert plugin.cache_key(plugin._source_files(), str(server_jar)) != first

    monkeypatch.setattr(plugin, "mms_version", lambda: "1.1.11")
    java_file = next(p for p in plugin._source_files() if p.endswith(".java"))
    with open(java_file, "a") as handle:
        handle.write("\n// changed\n")
    assert plugin.cache_key(plugin._source_files(), str(server_jar)) != first


def test_missing_javac_returns_none_with_actionable_warning(tmp_path, no_jdk, caplog):
    caplog.set_level(logging.WARNING, logger="sagemaker-inference.plugin")
    assert plugin.ensure_plugin(str(tmp_path / "cache")) is None
    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    message = record.getMessage()
    assert "javac" in message
    assert "openjdk-17-jdk-headless" in message
    assert "/ping" in message and "/execution-parameters" in message


def test_cached_jar_is_used_without_a_jdk(tmp_path, no_jdk, server_jar):
    cache = tmp_path / "cache"
    key = plugin.cache_key(plugin._source_files(), str(server_jar))
    (cache / key).mkdir(parents=True)
    (cache / key / plugin.PLUGIN_JAR_NAME).write_bytes(b"cached")
    assert plugin.ensure_plugin(str(cache)) == str(cache / key)


def test_compile_failure_returns_none_and_reports_javac_output(
    tmp_path, fake_javac, server_jar, monkeypatch, caplog
):
    monkeypatch.setenv("FAKE_JAVAC_FAIL_ON", "-d")  # every attempt fails
    caplog.set_level(logging.WARNING, logger="sagemaker-inference.plugin")
    cache = tmp_path / "cache"
    assert plugin.ensure_plugin(str(cache)) is None
    assert len(_calls(fake_javac)) == len(plugin._TARGET_FLAGS)
    message = caplog.records[-1].getMessage()
    assert "compiling the plugin failed" in message and "error: boom" in message
    assert not any(cache.glob("*/*.jar"))


def test_falls_back_to_older_target_flags(tmp_path, fake_javac, server_jar, monkeypatch):
    monkeypatch.setenv("FAKE_JAVAC_FAIL_ON", "--release 8")
    directory = plugin.ensure_plugin(str(tmp_path / "cache"))
    assert directory is not None
    calls = _calls(fake_javac)
    assert len(calls) == 2
    assert "-source 1.8 -target 1.8" in calls[1]
    with zipfile.ZipFile(os.path.join(directory, plugin.PLUGIN_JAR_NAME)) as jar:
        assert SERVICE_FILE in jar.namelist()


def test_second_call_reuses_the_build(tmp_path, fake_javac, server_jar):
    cache = str(tmp_path / "cache")
    first = plugin.ensure_plugin(cache)
    second = plugin.ensure_plugin(cache)
    assert first == second
    assert len(_calls(fake_javac)) == 1
    assert os.listdir(first) == [plugin.PLUGIN_JAR_NAME]


def test_java_home_javac_preferred(tmp_path, monkeypatch):
    java_home = tmp_path / "jdk"
    (java_home / "bin").mkdir(parents=True)
    javac = java_home / "bin" / "javac"
    javac.write_text("#!/bin/sh\n")
    javac.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(java_home))
    assert plugin.find_javac() == str(javac)


def test_missing_model_server_jar(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(plugin, "model_server_jar", lambda: None)
    caplog.set_level(logging.WARNING, logger="sagemaker-inference.plugin")
    assert plugin.ensure_plugin(str(tmp_path)) is None
    assert "model-server.jar" in caplog.records[-1].getMessage()


def test_default_cache_dir_comes_from_environment(tmp_path, monkeypatch, fake_javac, server_jar):
    monkeypatch.setenv(plugin.CACHE_DIR_ENV, str(tmp_path / "env-cache"))
    directory = plugin.ensure_plugin()
    assert directory is not None
    assert directory.startswith(str(tmp_path / "env-cache"))


def test_main_prints_directory(tmp_path, fake_javac, server_jar, capsys):
    assert plugin.main([str(tmp_path / "cache")]) == 0
    printed = capsys.readouterr().out.strip()
    assert os.path.isfile(os.path.join(printed, plugin.PLUGIN_JAR_NAME))
    assert plugin.main(["--help"]) == 2


@needs_javac
def test_real_build_produces_loadable_jar(tmp_path, monkeypatch):
    cache = str(tmp_path / "cache")
    directory = plugin.ensure_plugin(cache)
    assert directory is not None
    with zipfile.ZipFile(os.path.join(directory, plugin.PLUGIN_JAR_NAME)) as jar:
        names = jar.namelist()
    assert SERVICE_FILE in names
    assert "sagemaker/inference/plugin/PingEndpoint.class" in names
    assert "sagemaker/inference/plugin/ExecutionParametersEndpoint.class" in names

    def no_subprocess(*args, **kwargs):
        raise AssertionError("javac must not run again")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    assert plugin.ensure_plugin(cache) == directory


@needs_javac
def test_real_build_targets_java_8_class_files(tmp_path):
    directory = plugin.ensure_plugin(str(tmp_path / "cache"))
    with zipfile.ZipFile(os.path.join(directory, plugin.PLUGIN_JAR_NAME)) as jar:
        header = jar.read("sagemaker/inference/plugin/PingEndpoint.class")[:8]
    assert header[:4] == b"\xca\xfe\xba\xbe"
    assert int.from_bytes(header[6:8], "big") == 52  # Java 8

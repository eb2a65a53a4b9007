import logging
import os
import shutil
import stat
import subprocess
import zipfile

import pytest

from sagemaker_inference import plugin

SERVICE_FILE = "META-INF/services/software.amazon.ai.mms.servingsdk.ModelServerEndpoint"
DECODER_CLASS = "com/amazonaws/ml/mms/util/codec/ModelResponseDecoder.class"
SPLIT_CHECK = os.path.join(os.path.dirname(__file__), "java", "DecoderSplitCheck.java")
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
    """A stand-in model-server.jar naming the classes the patches replace, MMS 1.1.11."""
    jar = tmp_path / "model-server.jar"
    with zipfile.ZipFile(str(jar), "w") as archive:
        for name in plugin.PATCHED_CLASSES:
            archive.writestr(name, b"not really a class")
    monkeypatch.setattr(plugin, "model_server_jar", lambda: str(jar))
    monkeypatch.setattr(plugin, "mms_version", lambda: "1.1.11")
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


def test_main_prints_directory_and_patches_jar(tmp_path, fake_javac, server_jar, capsys):
    assert plugin.main([str(tmp_path / "cache")]) == 0
    directory, patches = capsys.readouterr().out.split()
    assert os.path.isfile(os.path.join(directory, plugin.PLUGIN_JAR_NAME))
    assert os.path.basename(patches) == plugin.PATCHES_JAR_NAME and os.path.isfile(patches)
    assert plugin.main(["--help"]) == 2


def test_main_fails_when_the_patches_cannot_be_built(
    tmp_path, fake_javac, server_jar, capsys, monkeypatch
):
    monkeypatch.setenv("FAKE_JAVAC_FAIL_ON", "ModelResponseDecoder.java")
    assert plugin.main([str(tmp_path / "cache")]) == 1
    [directory] = capsys.readouterr().out.split()
    assert os.path.isfile(os.path.join(directory, plugin.PLUGIN_JAR_NAME))


def test_sources_split_into_plugin_and_patches():
    plugin_files = plugin._source_files()
    patch_files = plugin._patch_source_files()
    assert patch_files and not set(plugin_files) & set(patch_files)
    assert all(os.sep + "com" + os.sep in path for path in patch_files)
    assert any(path.endswith("ModelResponseDecoder.java") for path in patch_files)
    assert not any(os.sep + "com" + os.sep in path for path in plugin_files)


def test_patches_key_follows_patch_sources_only(tmp_path, monkeypatch, server_jar):
    source = tmp_path / "java"
    shutil.copytree(plugin.JAVA_SOURCE_DIR, str(source))
    monkeypatch.setattr(plugin, "JAVA_SOURCE_DIR", str(source))
    plugin_key = plugin.cache_key(plugin._source_files(), str(server_jar))
    patches_key = plugin.cache_key(plugin._patch_source_files(), str(server_jar))
    assert plugin_key != patches_key
    [decoder] = [p for p in plugin._patch_source_files() if p.endswith("Decoder.java")]
    with open(decoder, "a") as handle:
        handle.write("\n// changed\n")
    assert plugin.cache_key(plugin._source_files(), str(server_jar)) == plugin_key
    assert plugin.cache_key(plugin._patch_source_files(), str(server_jar)) != patches_key


def test_patches_cached_separately_and_reused(tmp_path, fake_javac, server_jar):
    cache = str(tmp_path / "cache")
    jar = plugin.ensure_patches(cache)
    assert jar is not None and os.path.basename(jar) == plugin.PATCHES_JAR_NAME
    assert os.path.basename(os.path.dirname(jar)).startswith("patches-mms-1.1.11-")
    assert plugin.ensure_patches(cache) == jar
    directory = plugin.ensure_plugin(cache)
    assert os.path.dirname(jar) != directory
    assert os.listdir(directory) == [plugin.PLUGIN_JAR_NAME]
    calls = _calls(fake_javac)
    assert len(calls) == 2  # one build each, none repeated
    assert "ModelResponseDecoder.java" in calls[0] and "PingEndpoint" not in calls[0]
    assert "ModelResponseDecoder.java" not in calls[1]


def test_cached_patches_used_without_a_jdk(tmp_path, no_jdk, server_jar):
    cache = tmp_path / "cache"
    key = plugin.PATCHES_KEY_PREFIX + plugin.cache_key(
        plugin._patch_source_files(), str(server_jar)
    )
    (cache / key).mkdir(parents=True)
    (cache / key / plugin.PATCHES_JAR_NAME).write_bytes(b"cached")
    assert plugin.ensure_patches(str(cache)) == str(cache / key / plugin.PATCHES_JAR_NAME)


def test_patches_without_javac_warn_that_mms_decoder_is_used(tmp_path, no_jdk, server_jar, caplog):
    caplog.set_level(logging.WARNING, logger="sagemaker-inference.plugin")
    assert plugin.ensure_patches(str(tmp_path / "cache")) is None
    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    message = record.getMessage()
    assert message.startswith("MMS decoder patch unavailable: javac")
    assert "Worker died." in message and "openjdk-17-jdk-headless" in message


def test_patches_skipped_for_other_mms_versions(
    tmp_path, fake_javac, server_jar, monkeypatch, caplog
):
    monkeypatch.setattr(plugin, "mms_version", lambda: "1.2.0")
    caplog.set_level(logging.WARNING, logger="sagemaker-inference.plugin")
    assert plugin.ensure_patches(str(tmp_path / "cache")) is None
    assert "MMS 1.2.0 is installed" in caplog.records[-1].getMessage()
    assert _calls(fake_javac) == []


def test_patches_skipped_when_mms_lacks_the_replaced_class(
    tmp_path, fake_javac, server_jar, caplog
):
    with zipfile.ZipFile(str(server_jar), "w") as archive:
        archive.writestr("com/amazonaws/ml/mms/Other.class", b"")
    caplog.set_level(logging.WARNING, logger="sagemaker-inference.plugin")
    assert plugin.ensure_patches(str(tmp_path / "cache")) is None
    assert DECODER_CLASS in caplog.records[-1].getMessage()
    assert _calls(fake_javac) == []


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


@needs_javac
def test_real_patches_jar_holds_the_patched_classes_and_their_helpers(tmp_path):
    jar = plugin.ensure_patches(str(tmp_path / "cache"))
    assert jar is not None
    with zipfile.ZipFile(jar) as archive:
        classes = [name for name in archive.namelist() if name.endswith(".class")]
        header = archive.read(DECODER_CLASS)[:8]
    assert set(plugin.PATCHED_CLASSES) <= set(classes)
    # Besides the replaced MMS classes only the library's own helpers, in their own package.
    helpers = set(classes) - set(plugin.PATCHED_CLASSES)
    assert all(
        name.startswith("com/amazonaws/ml/mms/sagemaker/")
        or name.startswith("com/amazonaws/ml/mms/util/codec/ModelResponseDecoder$")
        for name in helpers
    ), helpers
    assert int.from_bytes(header[6:8], "big") == 52  # Java 8
    with zipfile.ZipFile(
        os.path.join(plugin.ensure_plugin(str(tmp_path / "cache")), plugin.PLUGIN_JAR_NAME)
    ) as archive:
        assert not any(name.startswith("com/") for name in archive.namelist())


@needs_javac
def test_real_decoder_waits_for_split_frames(tmp_path):
    """The patched decoder, loaded ahead of MMS's, decodes frames split at every byte."""
    if shutil.which("java") is None:
        pytest.skip("java is not installed")
    jar = plugin.ensure_patches(str(tmp_path / "cache"))
    assert jar is not None
    class_path = "{}:{}".format(jar, plugin.model_server_jar())
    classes = str(tmp_path / "check")
    subprocess.run(
        ["javac", "-nowarn", "-proc:none", "-cp", class_path, "-d", classes, SPLIT_CHECK],
        check=True,
        timeout=300,
    )
    result = subprocess.run(
        ["java", "-XX:TieredStopAtLevel=1", "-cp", classes + ":" + class_path, "DecoderSplitCheck"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=300,
    )
    output = result.stdout.decode("utf-8", "replace")
    assert result.returncode == 0, output
    assert "DECODER OK" in output
    assert "loaded from file:{}".format(jar) in output

"""The shipped jars: found, verified against their source, refused when they do not match."""

import logging
import os
import sys
import shutil
import subprocess
import zipfile

import pytest

from sagemaker_inference import plugin
from sagemaker_inference.plugin import __main__ as plugin_cli

SERVICE_FILE = "META-INF/services/software.amazon.ai.mms.servingsdk.ModelServerEndpoint"
DECODER_CLASS = "com/amazonaws/ml/mms/util/codec/ModelResponseDecoder.class"
JAVA_11_MAJOR = 55


def _class_major(data: bytes) -> int:
    assert data[:4] == b"\xca\xfe\xba\xbe"
    return int.from_bytes(data[6:8], "big")


@pytest.fixture
def copied_tree(tmp_path, monkeypatch):
    """A copy of the Java source and the shipped jars that a test may change."""
    source = tmp_path / "java-src"
    lib = tmp_path / "lib"
    shutil.copytree(plugin.JAVA_SOURCE_DIR, str(source))
    shutil.copytree(plugin.LIB_DIR, str(lib))
    monkeypatch.setattr(plugin, "JAVA_SOURCE_DIR", str(source))
    monkeypatch.setattr(plugin, "LIB_DIR", str(lib))
    monkeypatch.delenv(plugin.CACHE_DIR_ENV, raising=False)
    return source, lib


@pytest.fixture
def no_subprocesses(monkeypatch):
    """Fail the test if anything tries to start a process (javac above all)."""

    def refuse(*args, **kwargs):
        raise AssertionError("no process may be started: {}".format(args[:1]))

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(subprocess, "run", refuse)


@pytest.fixture
def mms_1_1(monkeypatch, tmp_path):
    """A stand-in model-server.jar naming the classes the patches replace, MMS 1.1.11."""
    jar = tmp_path / "model-server.jar"
    with zipfile.ZipFile(str(jar), "w") as archive:
        for name in plugin.PATCHED_CLASSES:
            archive.writestr(name, b"stand-in")
    monkeypatch.setattr(plugin, "model_server_jar", lambda: str(jar))
    monkeypatch.setattr(plugin, "mms_version", lambda: "1.1.11")
    return jar


def _edit_a_source(source_dir, artifact):
    java = next(path for path in artifact.sources() if path.endswith(".java"))
    with open(java, "a", encoding="utf-8") as handle:
        handle.write("\n// changed after the jar was built\n")


def test_shipped_jars_were_built_from_the_current_source():
    # The CI check that the committed jars are up to date: edit java-src and forget to run
    # `python -m sagemaker_inference.plugin build`, and this fails.
    for artifact in plugin.ARTIFACTS:
        digest = plugin.source_digest(artifact.sources())
        assert plugin.recorded_digest(artifact.shipped_jar()) == digest, artifact.label
    assert plugin_cli.main(["check"]) == 0


def test_shipped_classes_are_java_11_bytecode():
    for artifact in plugin.ARTIFACTS:
        with zipfile.ZipFile(artifact.shipped_jar()) as jar:
            classes = [name for name in jar.namelist() if name.endswith(".class")]
            assert classes, artifact.label
            for name in classes:
                assert _class_major(jar.read(name)) == JAVA_11_MAJOR, name


def test_plugin_jar_holds_the_endpoints_and_nothing_of_mms():
    with zipfile.ZipFile(plugin.PLUGIN.shipped_jar()) as jar:
        names = jar.namelist()
        services = jar.read(SERVICE_FILE).decode().split()
    assert "sagemaker.inference.plugin.PingEndpoint" in services
    assert "sagemaker.inference.plugin.ExecutionParametersEndpoint" in services
    assert "sagemaker/inference/plugin/PingEndpoint.class" in names
    assert not any(name.startswith("com/") for name in names)
    # MMS puts <plugins_path>/* on its class path: the directory must hold this jar alone.
    assert os.listdir(os.path.dirname(plugin.PLUGIN.shipped_jar())) == [plugin.PLUGIN_JAR_NAME]


def test_patches_jar_holds_the_replaced_classes_and_their_helpers():
    with zipfile.ZipFile(plugin.PATCHES.shipped_jar()) as jar:
        classes = [name for name in jar.namelist() if name.endswith(".class")]
    assert set(plugin.PATCHED_CLASSES) <= set(classes)
    # Besides the replaced MMS classes only the library's own helpers, in their own package.
    helpers = set(classes) - set(plugin.PATCHED_CLASSES)
    assert all(
        name.startswith("com/amazonaws/ml/mms/sagemaker/")
        or name.startswith("com/amazonaws/ml/mms/util/codec/ModelResponseDecoder$")
        for name in helpers
    ), helpers


def test_sources_split_between_the_two_jars():
    plugin_sources = plugin.PLUGIN.sources()
    patch_sources = plugin.PATCHES.sources()
    assert not set(plugin_sources) & set(patch_sources)
    assert any(path.endswith(SERVICE_FILE.split("/")[-1]) for path in plugin_sources)
    assert all(os.sep + "com" + os.sep in path for path in patch_sources)


def test_start_path_uses_shipped_jars_without_any_process(no_subprocesses, mms_1_1):
    assert plugin.ensure_plugin() == os.path.dirname(plugin.PLUGIN.shipped_jar())
    assert plugin.ensure_patches() == plugin.PATCHES.shipped_jar()


def test_digest_follows_content_and_names(copied_tree):
    source, _ = copied_tree
    before = plugin.source_digest(plugin.PLUGIN.sources())
    _edit_a_source(source, plugin.PLUGIN)
    edited = plugin.source_digest(plugin.PLUGIN.sources())
    assert edited != before
    java = next(path for path in plugin.PLUGIN.sources() if path.endswith(".java"))
    os.rename(java, java[: -len(".java")] + "Renamed.java")
    assert plugin.source_digest(plugin.PLUGIN.sources()) not in (before, edited)


def test_stale_jar_is_refused_with_a_fix(copied_tree, no_subprocesses, library_caplog):
    source, _ = copied_tree
    _edit_a_source(source, plugin.PLUGIN)
    with library_caplog.at_level(logging.WARNING, logger="sagemaker-inference.plugin"):
        assert plugin.ensure_plugin() is None
    message = library_caplog.records[-1].getMessage()
    assert message.startswith("MMS plugin unavailable: no jar was built from the installed")
    assert plugin.PLUGIN.shipped_jar() in message
    assert "GET /ping falls back" in message
    assert "python -m sagemaker_inference.plugin build" in message


def test_a_file_is_not_trusted_because_it_exists(copied_tree, no_subprocesses, library_caplog):
    _, lib = copied_tree
    jar = plugin.PLUGIN.shipped_jar()
    with open(jar, "wb") as handle:
        handle.write(b"not a jar at all")
    assert plugin.ensure_plugin() is None
    assert "no readable digest" in library_caplog.records[-1].getMessage()
    # A real jar without the digest attribute is refused the same way.
    with zipfile.ZipFile(jar, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
    assert plugin.recorded_digest(jar) is None
    assert plugin.ensure_plugin() is None


def test_cached_build_is_used_when_the_shipped_jar_is_stale(copied_tree, tmp_path, mms_1_1):
    source, _ = copied_tree
    _edit_a_source(source, plugin.PATCHES)
    digest = plugin.source_digest(plugin.PATCHES.sources())
    cache = str(tmp_path / "cache")
    cached = plugin.PATCHES.cached_jar(cache, digest)
    os.makedirs(os.path.dirname(cached))
    with zipfile.ZipFile(cached, "w") as archive:
        archive.writestr(
            "META-INF/MANIFEST.MF",
            "Manifest-Version: 1.0\r\n{}: {}\r\n\r\n".format(plugin.DIGEST_ATTRIBUTE, digest),
        )
    assert plugin.ensure_patches() is None  # no cache configured
    assert plugin.ensure_patches(cache) == cached


def test_cache_dir_comes_from_the_environment(copied_tree, tmp_path, monkeypatch, mms_1_1):
    source, _ = copied_tree
    _edit_a_source(source, plugin.PLUGIN)
    digest = plugin.source_digest(plugin.PLUGIN.sources())
    cached = plugin.PLUGIN.cached_jar(str(tmp_path), digest)
    os.makedirs(os.path.dirname(cached))
    with zipfile.ZipFile(cached, "w") as archive:
        archive.writestr(
            "META-INF/MANIFEST.MF",
            "Manifest-Version: 1.0\r\n{}: {}\r\n\r\n".format(plugin.DIGEST_ATTRIBUTE, digest),
        )
    monkeypatch.setenv(plugin.CACHE_DIR_ENV, str(tmp_path))
    assert plugin.ensure_plugin() == os.path.dirname(cached)


def test_missing_source_means_nothing_can_be_verified(copied_tree, library_caplog):
    source, _ = copied_tree
    shutil.rmtree(str(source / "sagemaker"))
    assert plugin.ensure_plugin() is None
    assert "Java source is missing" in library_caplog.records[-1].getMessage()


def test_patches_refused_for_another_mms_series(monkeypatch, library_caplog):
    monkeypatch.setattr(plugin, "mms_version", lambda: "1.2.0")
    assert plugin.ensure_patches() is None
    message = library_caplog.records[-1].getMessage()
    assert "written for MMS 1.1.x and MMS 1.2.0 is installed" in message
    assert "kills a Python worker" in message


def test_patches_refused_when_mms_lacks_the_replaced_class(monkeypatch, tmp_path, library_caplog):
    jar = tmp_path / "model-server.jar"
    with zipfile.ZipFile(str(jar), "w") as archive:
        archive.writestr("com/amazonaws/ml/mms/Other.class", b"")
    monkeypatch.setattr(plugin, "model_server_jar", lambda: str(jar))
    monkeypatch.setattr(plugin, "mms_version", lambda: "1.1.11")
    assert plugin.ensure_patches() is None
    assert DECODER_CLASS in library_caplog.records[-1].getMessage()


def test_check_command_names_a_stale_jar(copied_tree, capsys):
    source, _ = copied_tree
    _edit_a_source(source, plugin.PATCHES)
    assert plugin_cli.main(["check"]) == 1
    err = capsys.readouterr().err
    assert "stale {}".format(plugin.PATCHES.shipped_jar()) in err
    assert plugin.PLUGIN.shipped_jar() not in err


def test_model_server_jar_is_found_in_the_installed_mms():
    jar = plugin.model_server_jar()
    assert jar is not None and jar.endswith(os.path.join("frontend", "model-server.jar"))


def test_mms_version_is_the_installed_distribution_s():
    from importlib.metadata import version

    assert plugin.mms_version() == version("multi-model-server")


def test_mms_version_asks_the_distribution_without_mms_version_module(monkeypatch):
    import importlib.metadata

    monkeypatch.setitem(sys.modules, "mms.version", None)  # "import mms.version" fails
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "9.9.9")
    assert plugin.mms_version() == "9.9.9"

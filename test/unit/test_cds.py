"""When the AppCDS archive is passed to the JVM: only with a key matching java and the jars."""

import logging
import os

import pytest

from sagemaker_inference import cds


@pytest.fixture
def layout(tmp_path, monkeypatch):
    """A fake java binary, a jar directory and a class path naming it with a wildcard."""
    java = tmp_path / "java"
    java.write_bytes(b"java 17")
    jars = tmp_path / "jars"
    jars.mkdir()
    (jars / "a.jar").write_bytes(b"a")
    (jars / "b.jar").write_bytes(b"bb")
    single = tmp_path / "patches.jar"
    single.write_bytes(b"p")
    class_path = "{}:{}".format(single, os.path.join(str(jars), "*"))
    archive = tmp_path / "mms.jsa"
    archive.write_bytes(b"archive")
    monkeypatch.setenv(cds.CDS_ARCHIVE_ENV, str(archive))
    return str(java), class_path, str(archive), jars


def _write_key(java, class_path, archive):
    with open(archive + cds.KEY_SUFFIX, "w") as handle:
        handle.write(cds.archive_key(java, class_path) + "\n")


def test_unset_variable_adds_nothing(layout, monkeypatch):
    java, class_path, archive, _ = layout
    _write_key(java, class_path, archive)
    monkeypatch.delenv(cds.CDS_ARCHIVE_ENV)
    assert cds.start_args(java, class_path) == []


def test_matching_key_passes_the_archive(layout):
    java, class_path, archive, _ = layout
    _write_key(java, class_path, archive)
    assert cds.start_args(java, class_path) == [
        "-XX:SharedArchiveFile={}".format(archive),
        "-Xshare:auto",
    ]


@pytest.mark.parametrize("missing", ["archive", "key"])
def test_missing_archive_or_key_starts_without_it(layout, caplog, missing):
    java, class_path, archive, _ = layout
    _write_key(java, class_path, archive)
    os.remove(archive if missing == "archive" else archive + cds.KEY_SUFFIX)
    with caplog.at_level(logging.WARNING):
        assert cds.start_args(java, class_path) == []
    assert "starting without" in caplog.text


def test_a_changed_jar_makes_the_archive_stale(layout, caplog):
    java, class_path, archive, jars = layout
    _write_key(java, class_path, archive)
    (jars / "b.jar").write_bytes(b"changed")
    with caplog.at_level(logging.WARNING):
        assert cds.start_args(java, class_path) == []
    assert "another java or other jars" in caplog.text


def test_an_added_jar_or_another_java_makes_the_archive_stale(layout, tmp_path):
    java, class_path, archive, jars = layout
    _write_key(java, class_path, archive)
    other_java = tmp_path / "java11"
    other_java.write_bytes(b"java 11")
    assert cds.start_args(str(other_java), class_path) == []
    (jars / "c.jar").write_bytes(b"c")
    assert cds.start_args(java, class_path) == []


def test_wildcards_expand_to_the_jars_in_name_order(layout):
    _, class_path, _, jars = layout
    (jars / "notes.txt").write_text("not a jar")
    files = cds._class_path_files(class_path)
    assert [os.path.basename(f) for f in files] == ["patches.jar", "a.jar", "b.jar"]


def test_build_refuses_bad_arguments(capsys):
    assert cds.main([]) == 2
    assert cds.main(["--help"]) == 2
    assert "usage" in capsys.readouterr().err

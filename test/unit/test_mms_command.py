import os

import pytest

from sagemaker_inference import cds, mms_command, mms_config


@pytest.mark.parametrize(
    "value, level",
    [
        (None, "info"),
        ("", "info"),
        ("INFO", "info"),
        ("debug", "debug"),
        ("WARNING", "warn"),
        ("warn", "warn"),
        ("10", "debug"),
        ("20", "info"),
        ("30", "warn"),
        ("40", "error"),
        ("50", "fatal"),
        ("0", "all"),
        ("nonsense", "info"),
    ],
)
def test_log4j_level(value, level):
    assert mms_command.log4j_level(value) == level


def test_build_command():
    cmd = mms_command.build_command(
        "/usr/bin/java",
        "/cfg/mms.properties",
        "/opt/ml",
        models=["model=model"],
        vmargs="-Xmx1g -Dlog4j.configurationFile=/other.xml -Dx='a b'",
        log_config="/etc/log4j2.xml",
        log_level="WARNING",
        tmp_dir="/run/mms",
        plugins_path="/plugins",
        python="/py",
        patches_path="/patches/fix.jar",
    )
    assert cmd[0] == "/usr/bin/java"
    assert "-Dmodel_server_home={}".format(mms_command.mms_home()) in cmd
    assert "-Dlog4j.configurationFile=file:///etc/log4j2.xml" in cmd
    assert "-Dlog4j.configurationFile=/other.xml" not in cmd
    assert "-Dsagemaker.log.level=warn" in cmd
    assert "-Dsagemaker.ping.log=DENY" in cmd
    assert "-Dsagemaker.backend.time.log=DENY" in cmd
    assert "-Djava.io.tmpdir=/run/mms" in cmd
    assert "-Xmx1g" in cmd and "-Dx=a b" in cmd
    classpath = cmd[cmd.index("-cp") + 1].split(":")
    assert classpath == [
        "/patches/fix.jar",  # first, so its classes replace MMS's
        os.path.join(mms_command.mms_home(), "mms", "frontend", "*"),
        "/plugins/*",
    ]
    main = cmd.index("com.amazonaws.ml.mms.ModelServer")
    assert cmd[main + 1 :] == [
        "--python",
        "/py",
        "-f",
        "/cfg/mms.properties",
        "-s",
        "/opt/ml",
        "-m",
        "model=model",
    ]


def test_debug_level_keeps_ping_lines_and_metrics():
    cmd = mms_command.build_command("java", "c", "s", log_level="DEBUG", patches_path=None)
    assert "-Dsagemaker.ping.log=NEUTRAL" in cmd
    assert "-Dsagemaker.backend.time.log=NEUTRAL" in cmd
    assert "-Dsagemaker.metrics.level=info" in cmd
    assert "-m" not in cmd


def test_log4j_waits_between_batches_unless_vmargs_say_otherwise():
    cmd = mms_command.build_command(
        "java", "c", "s", vmargs="-DAsyncLogger.WaitStrategy=Timeout", patches_path=None
    )
    assert "-DAsyncLogger.WaitStrategy=Sleep" in cmd and "-DAsyncLogger.Retries=0" in cmd
    # java takes the last of two values of a property: the operator's
    assert cmd.index("-DAsyncLogger.WaitStrategy=Timeout") > cmd.index(
        "-DAsyncLogger.WaitStrategy=Sleep"
    )


def test_patches_jar_found_through_mms_config_by_default(monkeypatch):
    monkeypatch.setattr(mms_config, "patches_path", lambda env=None: "/cache/patches.jar")
    cmd = mms_command.build_command("java", "c", "s")
    assert cmd[cmd.index("-cp") + 1].split(":")[0] == "/cache/patches.jar"


@pytest.mark.parametrize("disabled", [None, ""])
def test_no_patches_jar_leaves_mms_classes_first(monkeypatch, disabled):
    monkeypatch.setattr(mms_config, "patches_path", lambda env=None: disabled)
    for cmd in (
        mms_command.build_command("java", "c", "s"),
        mms_command.build_command("java", "c", "s", patches_path=disabled),
    ):
        classpath = cmd[cmd.index("-cp") + 1]
        assert classpath == os.path.join(mms_command.mms_home(), "mms", "frontend", "*")


def test_patches_path_env_override(monkeypatch):
    monkeypatch.setenv(mms_config.PATCHES_PATH_ENV, "/x/fix.jar")
    assert mms_config.patches_path() == "/x/fix.jar"
    monkeypatch.setenv(mms_config.PATCHES_PATH_ENV, "")
    assert mms_config.patches_path() is None


def test_patches_path_survives_a_broken_build(monkeypatch, library_caplog):
    from sagemaker_inference import plugin

    def broken(cache_dir=None):
        raise RuntimeError("boom")

    monkeypatch.delenv(mms_config.PATCHES_PATH_ENV, raising=False)
    monkeypatch.setattr(plugin, "ensure_patches", broken)
    assert mms_config.patches_path() is None
    assert "MMS's own classes are used" in library_caplog.text


def test_a_matching_cds_archive_goes_before_the_class_path(monkeypatch, tmp_path):
    java = tmp_path / "java"
    java.write_bytes(b"java")
    archive = tmp_path / "mms.jsa"
    archive.write_bytes(b"archive")
    monkeypatch.setenv(cds.CDS_ARCHIVE_ENV, str(archive))
    path = mms_command.class_path(None, None)
    (tmp_path / "mms.jsa.key").write_text(cds.archive_key(str(java), path))
    cmd = mms_command.build_command(str(java), "c.properties", "/store", patches_path=None)
    flag = "-XX:SharedArchiveFile={}".format(archive)
    assert cmd.index(flag) < cmd.index("-cp")
    assert "-Xshare:auto" in cmd
    monkeypatch.delenv(cds.CDS_ARCHIVE_ENV)
    cmd = mms_command.build_command(str(java), "c.properties", "/store", patches_path=None)
    assert flag not in cmd and "-Xshare:auto" not in cmd

import logging
import os
import tempfile
from types import SimpleNamespace

import pytest

from sagemaker_inference import environment, mms_config


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in (
        mms_config.CONFIG_FILE_ENV,
        mms_config.STATE_DIR_ENV,
        mms_config.PLUGINS_PATH_ENV,
        mms_config.MANAGEMENT_PORT_ENV,
        "XDG_STATE_HOME",
        "SAGEMAKER_HANDLER",
    ):
        monkeypatch.delenv(name, raising=False)


def props(text):
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_state_dir_explicit_then_xdg_then_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert mms_config.state_dir() == str(tmp_path / ".local/state/sagemaker-inference")
    monkeypatch.setenv("XDG_STATE_HOME", "/xdg")
    assert mms_config.state_dir() == "/xdg/sagemaker-inference"
    monkeypatch.setenv(mms_config.STATE_DIR_ENV, "/explicit")
    assert mms_config.state_dir() == "/explicit"


def test_config_file_env_wins(monkeypatch):
    monkeypatch.setenv(mms_config.CONFIG_FILE_ENV, "/somewhere/mms.properties")
    assert mms_config.config_file_path() == "/somewhere/mms.properties"


def test_config_file_etc_when_writable(monkeypatch):
    monkeypatch.setattr(mms_config, "_writable", lambda path: True)
    assert mms_config.config_file_path() == "/etc/sagemaker-mms.properties"


def test_config_file_state_dir_when_etc_not_writable(monkeypatch):
    monkeypatch.setattr(mms_config, "_writable", lambda path: False)
    monkeypatch.setenv(mms_config.STATE_DIR_ENV, "/state")
    assert mms_config.config_file_path() == "/state/sagemaker-mms.properties"


def test_single_model_properties(monkeypatch, fake_env):
    text = mms_config.generate_properties(
        fake_env(
            model_server_workers=2, max_request_size=10 * 1024 * 1024, response_timeout_seconds=90
        ),
        "my.handler",
        model_store="/opt/ml",
        management_port=12345,
        plugins="/plugins",
    )
    values = props(text)
    assert values["inference_address"] == "http://0.0.0.0:8080"
    assert values["management_address"] == "http://127.0.0.1:12345"
    assert values["decode_input_request"] == "false"
    assert values["default_service_handler"] == "my.handler"
    assert values["default_workers_per_model"] == "2"
    assert values["default_response_timeout_seconds"] == "90"
    assert "default_response_timeout" not in values
    assert values["max_request_size"] == str(10 * 1024 * 1024)
    assert values["max_response_size"] == str(10 * 1024 * 1024)
    assert values["vmargs"] == "-XX:-UseContainerSupport"
    assert values["plugins_path"] == "/plugins"
    assert values["model_store"] == "/opt/ml"


def test_unset_values_are_left_out(fake_env):
    values = props(mms_config.generate_properties(fake_env(vmargs=""), None, management_port=1))
    assert "default_workers_per_model" not in values
    assert "max_request_size" not in values
    assert "default_service_handler" not in values
    assert "vmargs" not in values
    assert "plugins_path" not in values


def test_multi_model_shares_the_bind_port(monkeypatch, fake_env):
    monkeypatch.setenv("SAGEMAKER_HANDLER", "from.env")
    values = props(
        mms_config.generate_properties(fake_env(), None, multi_model=True, model_store="/")
    )
    assert values["management_address"] == values["inference_address"] == "http://0.0.0.0:8080"
    assert values["default_service_handler"] == "from.env"


def test_single_model_management_never_on_bind_port(fake_env):
    values = props(mms_config.generate_properties(fake_env(inference_http_port="20001")))
    address = values["management_address"]
    assert address.startswith("http://127.0.0.1:")
    port = int(address.rsplit(":", 1)[1])
    assert port != 20001 and port < mms_config.MAX_MMS_PORT


def test_timeout_falls_back_to_plain_variable():
    assert mms_config.timeout_seconds(SimpleNamespace(model_server_timeout=30)) == 30
    assert (
        mms_config.timeout_seconds(
            SimpleNamespace(model_server_timeout=30, model_server_timeout_seconds=5)
        )
        == 5
    )


def test_management_port_from_env(monkeypatch, fake_env):
    # The variable is read by Environment; pick_management_port takes its value.
    monkeypatch.setenv(mms_config.MANAGEMENT_PORT_ENV, "9999")
    assert environment.Environment().management_port == 9999
    assert mms_config.pick_management_port(8080, explicit=9999) == 9999
    values = props(mms_config.generate_properties(fake_env()))
    assert values["management_address"] == "http://127.0.0.1:9999"


def test_management_port_from_safe_range(monkeypatch):
    monkeypatch.setattr(mms_config, "_port_is_free", lambda port: port != 21000)
    assert mms_config.pick_management_port(8080, "21000-21010") == 21001


def test_bad_safe_range_is_ignored():
    assert mms_config._parse_port_range("abc") is None
    assert mms_config._parse_port_range("30-20") == range(20, 31)


def test_plugins_path_env_override(monkeypatch):
    monkeypatch.setenv(mms_config.PLUGINS_PATH_ENV, "/x")
    assert mms_config.plugins_path() == "/x"
    monkeypatch.setenv(mms_config.PLUGINS_PATH_ENV, "")
    assert mms_config.plugins_path() is None


def test_plugins_path_survives_a_broken_plugin(monkeypatch):
    from sagemaker_inference import plugin

    def broken(cache_dir=None):
        raise RuntimeError("boom")

    monkeypatch.setattr(plugin, "ensure_plugin", broken)
    assert mms_config.plugins_path() is None


def test_read_and_write(tmp_path):
    path = str(tmp_path / "sub" / "a.properties")
    mms_config.write_text(path, "# comment\na=1\nb = two=2\n\n")
    assert mms_config.read_properties(path) == {"a": "1", "b": "two=2"}
    assert os.listdir(tmp_path / "sub") == ["a.properties"]


def test_templates_are_shipped():
    for path in (
        mms_config.DEFAULT_PROPERTIES_TEMPLATE,
        mms_config.MME_PROPERTIES_TEMPLATE,
        mms_config.LOG4J2_CONFIG,
    ):
        assert os.path.isfile(path)


def test_multi_model_gets_one_worker_per_model_by_default(fake_env):
    values = props(mms_config.generate_properties(fake_env(), multi_model=True, model_store="/"))
    assert values["default_workers_per_model"] == "1"
    explicit = fake_env(model_server_workers=3)
    values = props(mms_config.generate_properties(explicit, multi_model=True, model_store="/"))
    assert values["default_workers_per_model"] == "3"


def test_single_model_leaves_the_worker_count_to_mms(fake_env):
    values = props(mms_config.generate_properties(fake_env(), management_port=1))
    assert "default_workers_per_model" not in values


@pytest.mark.parametrize(
    "address, url", [("127.0.0.1", "http://127.0.0.1:8080"), ("::1", "http://[::1]:8080")]
)
def test_bind_address_reaches_the_inference_address(fake_env, address, url):
    env = fake_env(bind_address=address)
    values = props(mms_config.generate_properties(env, multi_model=True, model_store="/"))
    assert values["inference_address"] == values["management_address"] == url


def _socket_path(directory):
    return directory + "/.mms.sock.65535"


def test_runtime_dir_is_under_a_short_tmpdir(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    path = mms_config.runtime_dir()
    assert os.path.dirname(path) == str(tmp_path) and os.path.isdir(path)
    assert len(_socket_path(path)) <= mms_config.UNIX_SOCKET_PATH_MAX


def test_runtime_dir_avoids_a_long_tmpdir(tmp_path, monkeypatch, library_caplog):
    long_dir = tmp_path / ("d" * 100)
    long_dir.mkdir()
    short = tmp_path / "s"
    short.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(long_dir))
    monkeypatch.setattr(mms_config, "SHORT_TEMP_DIRS", (str(short),))
    library_caplog.set_level(logging.INFO, logger="sagemaker-inference")
    path = mms_config.runtime_dir()
    assert os.path.dirname(path) == str(short)
    assert len(_socket_path(path)) <= mms_config.UNIX_SOCKET_PATH_MAX
    assert "too long for MMS's Unix socket paths" in library_caplog.text


def test_runtime_dir_refuses_with_the_fix_when_nothing_short_is_writable(tmp_path, monkeypatch):
    long_dir = tmp_path / ("d" * 100)
    long_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(long_dir))
    monkeypatch.setattr(mms_config, "SHORT_TEMP_DIRS", (str(tmp_path / "missing"),))
    with pytest.raises(ValueError) as raised:
        mms_config.runtime_dir()
    message = str(raised.value)
    assert str(long_dir) in message and "107-byte limit" in message
    assert "set TMPDIR to a writable directory of at most" in message
    assert "\n" not in message


def test_response_limit_is_written_from_the_environment(fake_env):
    text = mms_config.generate_properties(
        fake_env(max_response_size=3 * 1024 * 1024), None, management_port=1
    )
    assert props(text)["max_response_size"] == str(3 * 1024 * 1024)

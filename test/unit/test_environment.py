import importlib
import os

import pytest

from sagemaker_inference import environment, parameters


def test_defaults():
    env = environment.Environment({})
    assert env.module_name == "inference"
    assert env.model_server_timeout == 60
    assert env.model_server_timeout_seconds is None
    assert env.response_timeout_seconds == 60
    assert env.model_server_workers is None
    assert env.startup_timeout == 600
    assert env.default_accept == "application/json"
    assert env.inference_http_port == "8080"
    assert env.management_http_port == "8080"
    assert env.safe_port_range is None
    assert env.vmargs == "-XX:-UseContainerSupport"
    assert env.max_request_size is None
    assert env.multi_model is False
    assert env.model_dir == "/opt/ml/model"
    assert env.code_dir == "/opt/ml/model/code"
    assert env.log_level == "INFO"
    assert env.return_traceback is False
    assert env.load_failure_file is None
    assert env.max_load_failures == 3


def test_reads_os_environ_at_construction(monkeypatch):
    monkeypatch.setenv(parameters.USER_PROGRAM_ENV, "serve.py")
    monkeypatch.setenv(parameters.BIND_TO_PORT_ENV, "9000")
    env = environment.Environment()
    monkeypatch.setenv(parameters.USER_PROGRAM_ENV, "other")
    assert env.module_name == "serve"
    assert env.inference_http_port == env.management_http_port == "9000"


@pytest.mark.parametrize("program", ["serve", "serve.py"])
def test_program_with_or_without_py(program):
    assert environment.Environment({"SAGEMAKER_PROGRAM": program}).module_name == "serve"


def test_every_variable():
    env = environment.Environment(
        {
            "SAGEMAKER_BASE_DIR": "/srv/ml",
            "SAGEMAKER_MULTI_MODEL": "TRUE",
            "SAGEMAKER_MODEL_SERVER_TIMEOUT": "120",
            "SAGEMAKER_MODEL_SERVER_WORKERS": "2",
            "SAGEMAKER_STARTUP_TIMEOUT": "30",
            "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
            "SAGEMAKER_SAFE_PORT_RANGE": "1000-2000",
            "SAGEMAKER_MODEL_SERVER_VMARGS": "-Xmx1g",
            "SAGEMAKER_MAX_PAYLOAD_IN_MB": "20",
            "SAGEMAKER_CONTAINER_LOG_LEVEL": "debug",
            "SAGEMAKER_RETURN_TRACEBACK": "true",
            "SAGEMAKER_HANDLER": "my.handler",
            "SAGEMAKER_LOAD_FAILURE_FILE": "/tmp/failures",
            "SAGEMAKER_MAX_LOAD_FAILURES": "5",
        }
    )
    assert env.model_dir == "/srv/ml/models"
    assert env.code_dir == "/srv/ml/models/code"
    assert env.multi_model is True
    assert env.model_server_timeout == 120
    assert env.response_timeout_seconds == 120
    assert env.model_server_workers == "2"
    assert env.startup_timeout == 30
    assert env.default_accept == "text/csv"
    assert env.safe_port_range == "1000-2000"
    assert env.vmargs == "-Xmx1g"
    assert env.max_request_size == 20 * 1024 * 1024
    assert env.log_level == "debug"
    assert env.return_traceback is True
    assert env.handler == "my.handler"
    assert env.load_failure_file == "/tmp/failures"
    assert env.max_load_failures == 5


def test_timeout_seconds_overrides_plain_timeout():
    env = environment.Environment(
        {"SAGEMAKER_MODEL_SERVER_TIMEOUT": "60", "SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS": "7"}
    )
    assert env.model_server_timeout == 60
    assert env.model_server_timeout_seconds == 7
    assert env.response_timeout_seconds == 7


@pytest.mark.parametrize(
    "name, value",
    [
        ("SAGEMAKER_STARTUP_TIMEOUT", "ten"),
        ("SAGEMAKER_MODEL_SERVER_TIMEOUT", "0"),
        ("SAGEMAKER_MODEL_SERVER_WORKERS", "-1"),
        ("SAGEMAKER_BIND_TO_PORT", "http"),
        ("SAGEMAKER_BIND_TO_PORT", "70000"),
        ("SAGEMAKER_MAX_PAYLOAD_IN_MB", "lots"),
        ("SAGEMAKER_MAX_PAYLOAD_IN_MB", "0"),
        ("SAGEMAKER_RETURN_TRACEBACK", "maybe"),
        ("SAGEMAKER_BIND_ADDRESS", "localhost"),
        ("SAGEMAKER_BIND_ADDRESS", "300.1.1.1"),
        ("SAGEMAKER_MULTI_MODEL", "sometimes"),
        ("SAGEMAKER_ALLOW_PICKLE", "2"),
        ("SAGEMAKER_ALLOW_JSON_NAN", "y"),
        ("SAGEMAKER_INPUT_FN_ERRORS_AS_500", "500"),
    ],
)
def test_invalid_values_name_the_variable(name, value):
    with pytest.raises(ValueError, match=name):
        environment.Environment({name: value})


def test_module_level_directories(monkeypatch):
    try:
        monkeypatch.setenv("SAGEMAKER_BASE_DIR", "/x")
        monkeypatch.delenv("SAGEMAKER_MULTI_MODEL", raising=False)
        importlib.reload(environment)
        assert (environment.base_dir, environment.model_dir, environment.code_dir) == (
            "/x",
            "/x/model",
            "/x/model/code",
        )
        monkeypatch.setenv("SAGEMAKER_MULTI_MODEL", "true")
        importlib.reload(environment)
        assert environment.model_dir == "/x/models"
    finally:
        monkeypatch.undo()
        importlib.reload(environment)
    assert environment.base_dir == os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml")


@pytest.mark.parametrize(
    "raw, address",
    [(None, "0.0.0.0"), ("", "0.0.0.0"), (" 127.0.0.1 ", "127.0.0.1"), ("[::1]", "::1")],
)
def test_bind_address(raw, address):
    environ = {} if raw is None else {"SAGEMAKER_BIND_ADDRESS": raw}
    assert environment.Environment(environ).bind_address == address


def test_property_types_are_1_10_1s():
    env = environment.Environment(
        {
            "SAGEMAKER_MODEL_SERVER_WORKERS": "3",
            "SAGEMAKER_MODEL_SERVER_TIMEOUT": "90",
            "SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS": "30",
            "SAGEMAKER_STARTUP_TIMEOUT": "20",
            "SAGEMAKER_BIND_TO_PORT": "9001",
            "SAGEMAKER_SAFE_PORT_RANGE": "9100-9200",
            "SAGEMAKER_MAX_PAYLOAD_IN_MB": "7",
        }
    )
    assert env.model_server_workers == "3"
    assert type(env.model_server_workers) is str
    assert type(env.model_server_timeout) is int and env.model_server_timeout == 90
    assert type(env.model_server_timeout_seconds) is int
    assert type(env.startup_timeout) is int
    assert (env.inference_http_port, env.management_http_port) == ("9001", "9001")
    assert type(env.safe_port_range) is str
    assert type(env.max_request_size) is int and env.max_request_size == 7 * 1024 * 1024
    assert type(env.default_accept) is str and type(env.vmargs) is str
    assert type(env.module_name) is str
    assert environment.Environment({}).model_server_workers is None


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", " True ", "yes", "on", "ON"])
def test_every_boolean_variable_takes_the_same_true_values(raw):
    for name in parameters.BOOLEAN_VARIABLES:
        assert environment.parse_bool(name, raw) is True
        assert environment.flag(name, {name: raw}) is True
    env = environment.Environment({name: raw for name in parameters.BOOLEAN_VARIABLES})
    assert env.multi_model and env.return_traceback and env.input_fn_errors_as_500


@pytest.mark.parametrize("raw", ["0", "false", "False", "no", "off", ""])
def test_every_boolean_variable_takes_the_same_false_values(raw):
    for name in parameters.BOOLEAN_VARIABLES:
        assert environment.parse_bool(name, raw, default=True) is False
    env = environment.Environment({name: raw for name in parameters.BOOLEAN_VARIABLES})
    assert not (env.multi_model or env.return_traceback or env.input_fn_errors_as_500)


def test_lenient_reading_of_a_bad_boolean_gives_the_default():
    assert environment.flag("SAGEMAKER_ALLOW_PICKLE", {"SAGEMAKER_ALLOW_PICKLE": "maybe"}) is False
    assert environment.parse_bool("X", None, default=True) is True


def test_response_limit_defaults_to_mms_and_follows_the_payload_setting():
    assert environment.Environment({}).max_response_size == 6553500
    assert environment.Environment({"SAGEMAKER_MAX_PAYLOAD_IN_MB": "1"}).max_response_size == (
        6553500
    )
    payload = environment.Environment({"SAGEMAKER_MAX_PAYLOAD_IN_MB": "30"})
    assert payload.max_response_size == 30 * 1024 * 1024


def test_explicit_response_limit_wins():
    env = environment.Environment(
        {"SAGEMAKER_MAX_PAYLOAD_IN_MB": "30", "SAGEMAKER_MAX_RESPONSE_SIZE_IN_MB": "2"}
    )
    assert env.max_response_size == 2 * 1024 * 1024


@pytest.mark.parametrize("raw", ["0", "-1", "ten", "4096"])
def test_bad_response_limit_names_the_variable(raw):
    with pytest.raises(ValueError, match="SAGEMAKER_MAX_RESPONSE_SIZE_IN_MB"):
        environment.Environment({"SAGEMAKER_MAX_RESPONSE_SIZE_IN_MB": raw})


def test_keep_alive_timeout_default_zero_and_invalid():
    assert environment.Environment({}).keep_alive_timeout_seconds == 60
    env = environment.Environment({"SAGEMAKER_KEEP_ALIVE_TIMEOUT_SECONDS": "0"})
    assert env.keep_alive_timeout_seconds == 0
    for raw in ("-1", "soon"):
        with pytest.raises(ValueError, match="SAGEMAKER_KEEP_ALIVE_TIMEOUT_SECONDS"):
            environment.Environment({"SAGEMAKER_KEEP_ALIVE_TIMEOUT_SECONDS": raw})


def test_recycling_settings():
    env = environment.Environment({})
    assert env.max_requests_per_worker is None and env.max_worker_rss is None
    env = environment.Environment(
        {"SAGEMAKER_MAX_REQUESTS_PER_WORKER": "1000", "SAGEMAKER_MAX_WORKER_RSS_MB": "512"}
    )
    assert env.max_requests_per_worker == 1000
    assert env.max_worker_rss == 512 * 1024 * 1024
    with pytest.raises(ValueError, match="SAGEMAKER_MAX_REQUESTS_PER_WORKER"):
        environment.Environment({"SAGEMAKER_MAX_REQUESTS_PER_WORKER": "-3"})
    with pytest.raises(ValueError, match="SAGEMAKER_MAX_WORKER_RSS_MB"):
        environment.Environment({"SAGEMAKER_MAX_WORKER_RSS_MB": "lots"})


def test_batching_settings_defaults_values_and_invalid():
    env = environment.Environment({})
    assert env.batch_size == 1 and env.max_batch_delay_ms == 100
    env = environment.Environment(
        {
            "SAGEMAKER_MODEL_SERVER_BATCH_SIZE": " 16 ",
            "SAGEMAKER_MODEL_SERVER_MAX_BATCH_DELAY_MS": "0",
        }
    )
    assert env.batch_size == 16 and env.max_batch_delay_ms == 0
    for name, raw in (
        ("SAGEMAKER_MODEL_SERVER_BATCH_SIZE", "0"),
        ("SAGEMAKER_MODEL_SERVER_BATCH_SIZE", "eight"),
        ("SAGEMAKER_MODEL_SERVER_MAX_BATCH_DELAY_MS", "-1"),
        ("SAGEMAKER_MODEL_SERVER_MAX_BATCH_DELAY_MS", "0.5"),
    ):
        with pytest.raises(ValueError, match=name):
            environment.Environment({name: raw})


# --- the settings table: one parser per kind, one error style ---


@pytest.mark.parametrize(
    "kind, text, value",
    [
        (environment.BOOL, "On", True),
        (environment.BOOL, "0", False),
        (environment.integer(0), "0", 0),
        (environment.integer(1), "12", 12),
        (environment.SECONDS, "7.5", 7.5),
        (environment.SECONDS, "-3", 0.0),
        (environment.megabytes(), "1.5", int(1.5 * 1024 * 1024)),
        (environment.megabytes(2047), "2047", 2047 * 1024 * 1024),
        (environment.PORT, "9000", 9000),
        (environment.ADDRESS, "[::1]", "::1"),
        (environment.PATH, "/a b/c", "/a b/c"),
        (environment.TEXT, "text/csv", "text/csv"),
    ],
)
def test_each_kind_parses_its_values(kind, text, value):
    assert kind.parse(text) == value


@pytest.mark.parametrize(
    "kind, text",
    [
        (environment.BOOL, "maybe"),
        (environment.integer(1), "0"),
        (environment.integer(0), "1.5"),
        (environment.SECONDS, "soon"),
        (environment.SECONDS, "nan"),
        (environment.megabytes(), "0"),
        (environment.megabytes(2047), "2048"),
        (environment.PORT, "0"),
        (environment.PORT, "65536"),
        (environment.ADDRESS, "localhost"),
    ],
)
def test_each_kind_refuses_bad_values(kind, text):
    with pytest.raises(ValueError):
        kind.parse(text)


def test_every_bad_value_has_the_one_message_style():
    for setting in environment.settings():
        if setting.kind in (environment.PATH, environment.TEXT) or setting.lenient:
            continue
        raw = "-1x"
        with pytest.raises(ValueError) as info:
            environment.Environment({setting.variable: raw})
        assert str(info.value) == "{}='-1x': expected {}".format(
            setting.variable, setting.kind.expected
        )


def test_lenient_reading_gives_defaults_for_bad_values():
    bad = {setting.variable: "-1x" for setting in environment.settings()}
    lenient = environment.Environment(bad, strict=False)
    for setting in environment.settings():
        if setting.kind not in (environment.PATH, environment.TEXT):
            assert getattr(lenient, setting.name) == setting.default, setting.variable


def test_the_table_names_each_variable_once_with_a_doc():
    variables = [setting.variable for setting in environment.settings()]
    assert len(variables) == len(set(variables))
    assert all(setting.doc for setting in environment.settings())
    others = {"JAVA_HOME", "XDG_STATE_HOME", "CA_REPOSITORY_ARN"}
    assert all(name.startswith("SAGEMAKER_") for name in set(variables) - others)


def test_blank_values_give_the_default_unless_empty_means_off():
    env = environment.Environment(
        {"SAGEMAKER_STARTUP_TIMEOUT": "  ", "SAGEMAKER_MODEL_SERVER_VMARGS": "", "X": "1"}
    )
    assert env.startup_timeout == 600
    assert env.vmargs == ""
    env = environment.Environment({"SAGEMAKER_MMS_PLUGINS_PATH": ""})
    assert env.plugins_path == "" and environment.Environment({}).plugins_path is None


def test_settings_read_for_other_modules():
    env = environment.Environment(
        {
            "SAGEMAKER_SHUTDOWN_GRACE_SECONDS": "7.5",
            "SAGEMAKER_MAX_DECODED_BYTES": "1000",
            "SAGEMAKER_MANAGEMENT_PORT": "9999",
            "SAGEMAKER_STATE_DIR": "/state",
            "SAGEMAKER_MMS_CONFIG_FILE": "/c.properties",
            "SAGEMAKER_MMS_CDS_ARCHIVE": "/a.jsa",
            "SAGEMAKER_MMS_PLUGIN_CACHE_DIR": "/cache",
            "JAVA_HOME": "/jdk",
            "CA_REPOSITORY_ARN": "arn:x",
            "SAGEMAKER_PROGRAM": "serve.py",
            "SAGEMAKER_ALLOW_PICKLE": "true",
        }
    )
    assert env.shutdown_grace_seconds == 7.5
    assert env.max_decoded_bytes == 1000
    assert env.management_port == 9999
    assert env.state_dir == "/state"
    assert (env.config_file, env.cds_archive, env.plugin_cache_dir) == (
        "/c.properties",
        "/a.jsa",
        "/cache",
    )
    assert (env.java_home, env.ca_repository_arn) == ("/jdk", "arn:x")
    assert (env.program, env.module_name) == ("serve.py", "serve")
    assert env.allow_pickle is True and env.allow_json_nan is False


@pytest.mark.parametrize("raw", ["nonsense", "0", "-5", ""])
def test_max_decoded_bytes_keeps_its_lenient_reading(raw):
    # decoder.max_decoded_bytes' rule: a bad or non-positive value gives the default.
    env = environment.Environment({"SAGEMAKER_MAX_DECODED_BYTES": raw})
    assert env.max_decoded_bytes == environment.DEFAULT_MAX_DECODED_BYTES


def test_state_dir_follows_xdg_then_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert environment.Environment({}).state_dir == str(
        tmp_path / ".local" / "state" / "sagemaker-inference"
    )
    env = environment.Environment({"XDG_STATE_HOME": "/xdg"})
    assert env.state_dir == "/xdg/sagemaker-inference"


def test_read_setting_reads_one_setting_only(monkeypatch):
    monkeypatch.setenv("SAGEMAKER_STARTUP_TIMEOUT", "ten")
    monkeypatch.setenv("SAGEMAKER_SHUTDOWN_GRACE_SECONDS", "3")
    assert environment.read_setting("shutdown_grace_seconds") == 3.0


def test_read_setting_with_another_default():
    assert environment.read_setting("bind_address", {}, default="127.0.0.1") == "127.0.0.1"
    address = {"SAGEMAKER_BIND_ADDRESS": "10.0.0.1"}
    assert environment.read_setting("bind_address", address, default="127.0.0.1") == "10.0.0.1"
    with pytest.raises(ValueError, match="SAGEMAKER_BIND_ADDRESS='here': expected an IP"):
        environment.read_setting("bind_address", {"SAGEMAKER_BIND_ADDRESS": "here"})


def test_module_constants_come_from_the_import_time_reading():
    assert environment.model_dir == environment.at_import.model_dir
    assert environment.code_dir == environment.at_import.code_dir
    assert environment.multi_model is environment.at_import.multi_model


# --- only Environment reads the environment ---

SRC = os.path.join(os.path.dirname(environment.__file__))

# Reads that are not library settings (these stay).
NOT_SETTINGS = {
    "environment.py": "the one reader",
    "model_server_compat.py": "PYTHONPATH, which 1.10.1's _set_python_path edits in place",
    "mms_protocol.py": "MMS_DECODE_INPUT_REQUEST, MMS's own variable",
    "scoped_environ.py": "saves and restores the variables serve and LocalModel set",
}


def _environment_reads(path):
    """(line, source) of every read of os.environ / a passed ``environ`` / os.getenv."""
    import ast

    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    for node in ast.walk(tree):
        text = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = ast.unparse(node.func.value)
            if node.func.attr == "getenv" or (
                node.func.attr == "get" and owner in ("os.environ", "environ")
            ):
                text = ast.unparse(node)
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            if ast.unparse(node.value) == "os.environ":
                text = ast.unparse(node)
        if text:
            yield node.lineno, text


def test_only_environment_reads_the_environment():
    found = []
    for directory, _dirs, files in os.walk(SRC):
        for name in files:
            if not name.endswith(".py") or name in NOT_SETTINGS:
                continue
            path = os.path.join(directory, name)
            found += [
                "{}:{}: {}".format(name, line, text) for line, text in _environment_reads(path)
            ]
    assert found == []


def test_1_10_1_private_attributes_can_still_be_assigned():
    # The Hugging Face toolkit sets env._model_server_workers before writing the MMS config.
    env = environment.Environment({})
    env._model_server_workers = "2"
    env._vmargs = "-Xmx2g"
    env._inference_http_port = "9000"
    assert (env.model_server_workers, env.vmargs, env.inference_http_port) == (
        "2",
        "-Xmx2g",
        "9000",
    )
    assert env.management_http_port == "8080"


def test_booleans_of_parameters_are_the_table_booleans():
    table = {s.variable for s in environment.settings() if s.kind is environment.BOOL}
    assert table == set(parameters.BOOLEAN_VARIABLES)


def test_read_setting_leniently_gives_the_default_for_a_bad_value():
    bad = {"SAGEMAKER_ALLOW_PICKLE": "perhaps"}
    with pytest.raises(ValueError, match="SAGEMAKER_ALLOW_PICKLE='perhaps': expected"):
        environment.read_setting("allow_pickle", bad)
    assert environment.read_setting("allow_pickle", bad, strict=False) is False
    assert environment.read_setting("allow_pickle", {"SAGEMAKER_ALLOW_PICKLE": "yes"}) is True

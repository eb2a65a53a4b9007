"""The 1.10.1 helpers live in model_server_compat; model_server keeps their old names."""

import inspect

import pytest

from sagemaker_inference import model_server, model_server_compat, supervisor

ALIASES = {
    "_add_sigterm_handler": "add_sigterm_handler",
    "_add_sigchild_handler": "add_sigchild_handler",
    "_create_model_server_config_file": "create_model_server_config_file",
    "_generate_mms_config_properties": "generate_mms_config_properties",
    "_adapt_to_mms_format": "adapt_to_mms_format",
    "_set_python_path": "set_python_path",
    "_install_requirements": "install_requirements",
    "_get_codeartifact_index": "get_codeartifact_index",
    "_retrieve_mms_server_process": "retrieve_mms_server_process",
    "_retry_retrieve_mms_server_process": "retry_retrieve_mms_server_process",
    "_stop_process_tree": "stop_process_tree",
    "_shutdown_grace_seconds": "shutdown_grace_seconds",
}
CONSTANTS = (
    "DEFAULT_MMS_CONFIG_FILE",
    "MME_MMS_CONFIG_FILE",
    "DEFAULT_MMS_LOG_FILE",
    "DEFAULT_MMS_MODEL_EXPORT_DIRECTORY",
    "DEFAULT_MMS_MODEL_NAME",
    "ENABLE_MULTI_MODEL",
    "MODEL_STORE",
    "MMS_CONFIG_FILE",
    "REQUIREMENTS_PATH",
    "MMS_NAMESPACE",
    "DEFAULT_SHUTDOWN_GRACE_SECONDS",
)


def test_model_server_binds_the_1_10_1_names_to_the_compat_module():
    for old, new in ALIASES.items():
        assert getattr(model_server, old) is getattr(model_server_compat, new), old
    for name in CONSTANTS:
        assert getattr(model_server, name) == getattr(model_server_compat, name), name


def test_1_10_1_signatures():
    assert list(inspect.signature(model_server._create_model_server_config_file).parameters) == [
        "env",
        "handler_service",
    ]
    assert list(inspect.signature(model_server._retry_retrieve_mms_server_process).parameters) == [
        "startup_timeout"
    ]
    assert list(inspect.signature(model_server._adapt_to_mms_format).parameters) == [
        "handler_service",
        "model_path",
    ]


def test_start_model_server_does_not_run_through_the_compat_helpers(monkeypatch, start_ready):
    def refuse(*args, **kwargs):
        raise AssertionError("start_model_server called a compatibility helper")

    for name in ALIASES.values():
        monkeypatch.setattr(model_server_compat, name, refuse)
    (start_ready / "model").mkdir()
    monkeypatch.setenv("SAGEMAKER_MULTI_MODEL", "false")
    monkeypatch.setattr(supervisor.Supervisor, "run", lambda self: 0)
    assert model_server.start_model_server("my.handler") == 0


def test_shutdown_grace_reads_only_its_own_setting(monkeypatch):
    monkeypatch.setenv("SAGEMAKER_STARTUP_TIMEOUT", "ten")  # another bad setting: not its concern
    monkeypatch.setenv("SAGEMAKER_SHUTDOWN_GRACE_SECONDS", "2")
    assert model_server_compat.shutdown_grace_seconds() == 2.0
    monkeypatch.setenv("SAGEMAKER_SHUTDOWN_GRACE_SECONDS", "x")
    with pytest.raises(ValueError, match="SAGEMAKER_SHUTDOWN_GRACE_SECONDS='x': expected"):
        model_server_compat.shutdown_grace_seconds()

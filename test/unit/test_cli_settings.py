"""cli.settings: the variables the command reads."""

import pytest

from sagemaker_inference.cli import settings


@pytest.mark.parametrize("raw, port", [("9001", 9001), (" 9001 ", 9001), ("", 8080), ("x", 8080)])
def test_default_port(raw, port):
    assert settings.default_port({"SAGEMAKER_BIND_TO_PORT": raw}) == port


def test_default_port_reads_the_process_environment(monkeypatch):
    monkeypatch.setenv("SAGEMAKER_BIND_TO_PORT", "9002")
    assert settings.default_port() == 9002
    monkeypatch.delenv("SAGEMAKER_BIND_TO_PORT")
    assert settings.default_port() == settings.DEFAULT_PORT


def test_program_and_bind_address():
    assert settings.program({}) is None
    assert settings.program({"SAGEMAKER_PROGRAM": ""}) is None
    assert settings.program({"SAGEMAKER_PROGRAM": "serve.py"}) == "serve.py"
    assert settings.bind_address({}) is None
    assert settings.bind_address({"SAGEMAKER_BIND_ADDRESS": " ::1 "}) == "::1"


def test_a_bad_bind_address_fails_with_the_settings_message():
    with pytest.raises(ValueError, match="SAGEMAKER_BIND_ADDRESS='here': expected"):
        settings.bind_address({"SAGEMAKER_BIND_ADDRESS": "here"})


def test_state_is_chosen_only_when_set():
    chosen = settings.state_is_chosen({"SAGEMAKER_STATE_DIR": "/tmp/state"})
    assert chosen == {"SAGEMAKER_STATE_DIR": True, "SAGEMAKER_MMS_CONFIG_FILE": False}
    assert not any(settings.state_is_chosen({"SAGEMAKER_MMS_CONFIG_FILE": ""}).values())

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
    assert settings.bind_address({}) == ""
    assert settings.bind_address({"SAGEMAKER_BIND_ADDRESS": " ::1 "}) == "::1"

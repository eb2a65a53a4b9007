"""The ``sagemaker-inference`` entry point (cli/__init__.py) and ``python -m``."""

import runpy
import sys

import pytest

from sagemaker_inference import cli


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main([])
    assert stop.value.code == 2


def test_main_runs_the_chosen_command(monkeypatch):
    calls = []
    monkeypatch.setattr(cli.arguments, "run_invoke", lambda args: calls.append(args) or 7)
    assert cli.main(["invoke", "-d", "[1]"]) == 7
    assert calls[0].data == "[1]"


def test_python_dash_m_runs_the_same_main(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["sagemaker_inference", "--help"])
    with pytest.raises(SystemExit) as stop:
        runpy.run_module("sagemaker_inference", run_name="__main__")
    assert stop.value.code == 0


def test_the_names_of_the_single_module_cli_are_still_there():
    for name in (
        "main",
        "build_parser",
        "run_serve",
        "run_invoke",
        "serve_environment",
        "serve_host",
        "private_state",
        "check_model_dir",
        "check_port_free",
        "summarize_line",
        "error_summary",
        "invocation_url",
        "post",
        "ServeError",
        "PROG",
        "DEFAULT_PORT",
        "MAX_MMS_PORT",
        "EXIT_HTTP_ERROR",
        "EXIT_USAGE",
        "EXIT_UNREACHABLE",
    ):
        assert hasattr(cli, name), name

"""cli.foreground: the server's output summarised on the terminal and kept in the log, and its
exit code; with a fake start_model_server and no /ping polling."""

import os

import pytest
from cli_fakes import fake_start, go_offline, install_fake_server, make_model_dir

from sagemaker_inference import cli
from sagemaker_inference.cli import foreground


@pytest.fixture
def model_dir(tmp_path, monkeypatch):
    go_offline(monkeypatch)
    return make_model_dir(tmp_path)


def serve(model_dir, log_file, *options):
    argv = ["serve", "--model-dir", str(model_dir), "--port", "8123", "--log-file", str(log_file)]
    return cli.main(argv + list(options))


SERVER_LINES = [
    "2024-05-01T10:00:00,123 [INFO ] main com.amazonaws.ml.mms.ModelServer - noise",
    "2024-05-01 10:00:00,120 ERROR [sagemaker-inference] Request failed: "
    "ValueError: boom (inference.py:9)",
    "Traceback (most recent call last):",
    '  File "inference.py", line 9, in predict_fn',
    "ValueError: boom",
]


def test_errors_are_shown_as_one_line_and_everything_is_logged(
    model_dir, tmp_path, capfd, monkeypatch
):
    install_fake_server(monkeypatch, fake_start(0, [], lines=SERVER_LINES))
    log_file = tmp_path / "serve.log"
    assert serve(model_dir, log_file) == 0
    out = capfd.readouterr().out
    assert "error: Request failed: ValueError: boom (inference.py:9)" in out
    assert "noise" not in out and "Traceback" not in out
    assert out.endswith("sagemaker-inference: stopped (exit code 0); full log: %s\n" % log_file)
    logged = log_file.read_text()
    assert logged.startswith("==== sagemaker-inference serve, ")
    assert "noise" in logged and "Traceback" in logged


def test_verbose_prints_everything(model_dir, tmp_path, capfd, monkeypatch):
    install_fake_server(monkeypatch, fake_start(None, [], lines=["some INFO line"]))
    assert serve(model_dir, tmp_path / "log", "-v") == 0
    assert "\nsome INFO line\n" in capfd.readouterr().out


def test_exit_code_comes_from_start_model_server(model_dir, tmp_path, capfd, monkeypatch):
    install_fake_server(monkeypatch, fake_start(SystemExit(3), []))
    assert serve(model_dir, tmp_path / "log") == 3
    assert "stopped (exit code 3)" in capfd.readouterr().out


def test_ctrl_c_is_exit_code_130(model_dir, tmp_path, capfd, monkeypatch):
    install_fake_server(monkeypatch, fake_start(KeyboardInterrupt(), []))
    assert serve(model_dir, tmp_path / "log") == 130


def test_an_exception_from_the_server_is_one_line(model_dir, tmp_path, capfd, monkeypatch):
    error = RuntimeError("java was not found\nsecond line")
    install_fake_server(monkeypatch, fake_start(error, []))
    assert serve(model_dir, tmp_path / "log") == 1
    assert "error: RuntimeError: java was not found second line" in capfd.readouterr().out
    assert "Traceback" in (tmp_path / "log").read_text()


@pytest.mark.parametrize(
    "outcome, code", [(None, 0), (4, 4), (SystemExit(None), 0), (SystemExit("bad"), 1)]
)
def test_the_exit_code_of_start_model_server(monkeypatch, outcome, code):
    install_fake_server(monkeypatch, fake_start(outcome, []))
    assert foreground.run_start_model_server(None) == code


def test_the_pump_copies_everything_and_emits_summaries(tmp_path):
    read_fd, write_fd = os.pipe()
    shown = []
    with open(tmp_path / "log", "wb") as log:
        pump = foreground.OutputPump(read_fd, log, shown.append, verbose=False)
        os.write(write_fd, b"INFO fine\nERROR:root:half")
        os.write(write_fd, b" a line\nERROR:root:no newline at the end")
        os.close(write_fd)
        pump.run()  # here, not in a thread: returns at the end of the pipe
    assert shown == ["error: half a line", "error: no newline at the end"]
    assert (tmp_path / "log").read_bytes() == (
        b"INFO fine\nERROR:root:half a line\nERROR:root:no newline at the end"
    )


def test_the_default_log_file_is_under_logs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert foreground.default_log_file() == str(tmp_path / "logs" / "sagemaker-inference.log")

"""cli.arguments: the subcommands' options, defaults and checks."""

import pytest

from sagemaker_inference.cli import arguments


def parse(*argv):
    return arguments.build_parser().parse_args(list(argv))


def test_serve_arguments_are_parsed():
    args = parse(
        "serve",
        "--model-dir",
        "m",
        "--port",
        "9001",
        "--workers",
        "2",
        "--multi-model",
        "--program",
        "serve.py",
    )
    assert (args.model_dir, args.port, args.workers, args.multi_model, args.program) == (
        "m",
        9001,
        2,
        True,
        "serve.py",
    )
    assert args.func is arguments.run_serve


def test_serve_defaults():
    args = parse("serve")
    assert (args.model_dir, args.port, args.workers, args.multi_model, args.program) == (
        ".",
        None,
        None,
        False,
        None,
    )
    assert (args.host, args.handler_service, args.log_file, args.verbose) == (
        None,
        None,
        None,
        False,
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--port", "0"],
        ["serve", "--port", "70000"],
        ["serve", "--port", "32767"],
        ["serve", "--workers", "x"],
        ["invoke", "--port", "65536"],
    ],
)
def test_bad_numbers_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        parse(*argv)
    assert stop.value.code == 2
    assert "error" in capsys.readouterr().err


def test_the_highest_mms_port_is_accepted():
    assert parse("serve", "--port", str(arguments.MAX_MMS_PORT)).port == arguments.MAX_MMS_PORT


def test_invoke_arguments_and_predict_alias():
    args = parse(
        "predict",
        "body.csv",
        "--port",
        "9002",
        "-a",
        "text/csv",
        "-m",
        "fruit",
        "-H",
        "X-Amzn-SageMaker-Custom-Attributes: a=1",
    )
    assert args.func is arguments.run_invoke
    assert (args.input, args.port, args.accept, args.model) == (
        "body.csv",
        9002,
        "text/csv",
        "fruit",
    )
    assert args.headers == [("X-Amzn-SageMaker-Custom-Attributes", "a=1")]


def test_invoke_defaults():
    args = parse("invoke")
    assert (args.input, args.data, args.url, args.port, args.timeout) == ("-", None, None, None, 70)


def test_header_without_colon_is_rejected():
    with pytest.raises(SystemExit):
        parse("invoke", "-H", "no-colon")


def test_a_file_and_data_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        parse("invoke", "body.json", "-d", "[1]")
    assert "not allowed with" in capsys.readouterr().err


def test_serve_host_must_be_an_address(capsys):
    with pytest.raises(SystemExit):
        parse("serve", "--host", "example.com")
    assert "'example.com' is not an IP address" in capsys.readouterr().err


def test_serve_host_is_normalised():
    assert parse("serve", "--host", "[::1]").host == "::1"

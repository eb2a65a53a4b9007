"""The command line of ``sagemaker-inference``: its subcommands, options and their checks."""

import argparse
import ipaddress
from typing import Tuple

from sagemaker_inference.cli.invoke import run_invoke
from sagemaker_inference.cli.messages import PROG
from sagemaker_inference.cli.serve import run_serve

MAX_MMS_PORT = 32766  # MMS 1.1 rejects higher port numbers


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a whole number" % text) from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1, got %s" % text)
    return value


def _port(text: str) -> int:
    value = _positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError("%s is not a TCP port (1-65535)" % text)
    return value


def _serve_port(text: str) -> int:
    value = _port(text)
    if value > MAX_MMS_PORT:
        raise argparse.ArgumentTypeError(
            "%s is too high: Multi Model Server accepts ports up to %d" % (text, MAX_MMS_PORT)
        )
    return value


def _address(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip().strip("[]")))
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not an IP address" % text) from None


def _header(text: str) -> Tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError("expected NAME: VALUE, got %r" % text)
    return name.strip(), value.strip()


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand; each sets ``func``, the function that runs it."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Serve a SageMaker model directory locally and send it requests.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    _add_serve(commands)
    _add_invoke(commands)
    return parser


# Options are added in the order ``--help`` lists them.


def _add_serve(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    serve = commands.add_parser(
        "serve",
        help="serve a model directory in the foreground (Ctrl-C stops it)",
        description="Serve a model directory laid out like /opt/ml/model (model files plus "
        "code/inference.py) with Multi Model Server, the way a SageMaker container does.",
    )
    _add_serve_endpoint_options(serve)
    _add_serve_code_and_output_options(serve)
    serve.set_defaults(func=run_serve)


def _add_serve_endpoint_options(serve: argparse.ArgumentParser) -> None:
    """What is served, where, by how many workers."""
    serve.add_argument(
        "--model-dir",
        default=".",
        metavar="DIR",
        help="the model directory (default: the current directory); with --multi-model, the "
        "directory holding one sub-directory per model",
    )
    serve.add_argument(
        "--port",
        type=_serve_port,
        default=None,
        metavar="N",
        help="HTTP port for /ping and /invocations (default: $SAGEMAKER_BIND_TO_PORT or 8080)",
    )
    serve.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        metavar="N",
        help="Python worker processes per model (default: one per CPU; with --multi-model, "
        "one per model); sets SAGEMAKER_MODEL_SERVER_WORKERS",
    )
    serve.add_argument(
        "--host",
        type=_address,
        default=None,
        metavar="ADDRESS",
        help="address to listen on (default: $SAGEMAKER_BIND_ADDRESS or 127.0.0.1, this machine "
        "only; 0.0.0.0 for every interface, as in a container); sets SAGEMAKER_BIND_ADDRESS",
    )
    serve.add_argument(
        "--multi-model",
        action="store_true",
        help="serve a multi-model endpoint: models are loaded with POST /models",
    )


def _add_serve_code_and_output_options(serve: argparse.ArgumentParser) -> None:
    """Which code handles requests, and where the server's output goes."""
    serve.add_argument(
        "--program",
        metavar="FILE",
        default=None,
        help="the user module in DIR/code (default: inference.py); sets SAGEMAKER_PROGRAM",
    )
    serve.add_argument(
        "--handler-service",
        metavar="MODULE",
        default=None,
        help="handler service module for MMS, as a container passes to start_model_server "
        "(default: sagemaker_inference.default_handler_service)",
    )
    serve.add_argument(
        "--log-file",
        metavar="FILE",
        default=None,
        help="where the server's full output goes (default: logs/sagemaker-inference.log)",
    )
    serve.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also print the server's full output, not only the summary lines",
    )


def _add_invoke(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    invoke = commands.add_parser(
        "invoke",
        aliases=["predict"],
        help="send a request to a running server and print the response",
        description="POST a body to /invocations (or /models/NAME/invoke) and print the "
        "response body. Exit code: 0 for a 2xx answer, 1 for any other status (the reason "
        "goes to stderr), 2 for a usage error or an unreadable file, 3 when the server cannot "
        "be reached.",
    )
    _add_invoke_body_and_server_options(invoke)
    _add_invoke_request_options(invoke)
    invoke.set_defaults(func=run_invoke)


def _add_invoke_body_and_server_options(invoke: argparse.ArgumentParser) -> None:
    """What is sent, and to which server."""
    source = invoke.add_mutually_exclusive_group()
    source.add_argument(
        "input",
        nargs="?",
        default="-",
        metavar="FILE",
        help="file holding the request body; '-' or nothing reads stdin",
    )
    source.add_argument("-d", "--data", default=None, help="the request body as a string")
    invoke.add_argument(
        "--url",
        default=None,
        help="server address, e.g. http://localhost:8080 (default: localhost and --port)",
    )
    invoke.add_argument(
        "--port",
        type=_port,
        default=None,
        metavar="N",
        help="port of a local server (default: $SAGEMAKER_BIND_TO_PORT or 8080)",
    )


def _add_invoke_request_options(invoke: argparse.ArgumentParser) -> None:
    """The request's headers, where the answer goes and how long to wait for it."""
    invoke.add_argument(
        "-c",
        "--content-type",
        default=None,
        help="Content-Type of the body (default: from the file extension, else "
        "application/json)",
    )
    invoke.add_argument(
        "-a", "--accept", default=None, help="Accept header (default: none, server default)"
    )
    invoke.add_argument("-m", "--model", default=None, help="model name on a multi-model server")
    invoke.add_argument(
        "-H",
        "--header",
        dest="headers",
        action="append",
        type=_header,
        default=[],
        metavar="'Name: value'",
        help="extra request header (repeatable), e.g. "
        "'X-Amzn-SageMaker-Custom-Attributes: trace=1'",
    )
    invoke.add_argument(
        "-o", "--output", default=None, metavar="FILE", help="write the body to FILE"
    )
    invoke.add_argument(
        "--timeout",
        type=float,
        default=70.0,
        metavar="SECONDS",
        help="seconds to wait for the answer (70)",
    )

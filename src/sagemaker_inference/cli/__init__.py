"""The ``sagemaker-inference`` command: serve a model directory locally and send it requests.

``sagemaker-inference serve`` serves a directory laid out like ``/opt/ml/model`` (model files plus
``code/inference.py``) through :func:`sagemaker_inference.model_server.start_model_server`, the
same code path a container's ENTRYPOINT uses, as a normal user and in the foreground. It prints
where it listens, when the model is loaded and each error as one line; the server's full output
goes to a log file. Ctrl-C stops the server and every process it started.

``sagemaker-inference invoke`` sends a file, stdin or a string to a running server and prints the
response body; a non-2xx status gives a non-zero exit code and the reason on stderr.

Only the standard library is used here, so the command starts quickly. The modules:
``arguments`` (the command line), ``serve`` (checks and the server's environment),
``foreground`` (the run with its output captured), ``readiness`` (/ping), ``log_summary`` (the
lines shown), ``invoke`` and its HTTP ``client``, ``extensions`` (file extension to media type),
``settings`` (the variables the command reads) and ``messages``.
"""

from typing import Optional, Sequence

from sagemaker_inference.cli.arguments import MAX_MMS_PORT, build_parser
from sagemaker_inference.cli.client import invocation_url, post
from sagemaker_inference.cli.invoke import run_invoke
from sagemaker_inference.cli.log_summary import error_summary, summarize_line
from sagemaker_inference.cli.messages import EXIT_HTTP_ERROR, EXIT_UNREACHABLE, EXIT_USAGE, PROG
from sagemaker_inference.cli.serve import (
    ServeError,
    check_model_dir,
    check_port_free,
    private_state,
    run_serve,
    serve_environment,
    serve_host,
)
from sagemaker_inference.cli.settings import DEFAULT_PORT


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``sagemaker-inference`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    return args.func(args)


__all__ = [
    "DEFAULT_PORT",
    "EXIT_HTTP_ERROR",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "MAX_MMS_PORT",
    "PROG",
    "ServeError",
    "build_parser",
    "check_model_dir",
    "check_port_free",
    "error_summary",
    "invocation_url",
    "main",
    "post",
    "private_state",
    "run_invoke",
    "run_serve",
    "serve_environment",
    "serve_host",
    "summarize_line",
]

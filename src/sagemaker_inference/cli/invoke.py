"""``sagemaker-inference invoke``: send a body to a running server and print its answer."""

import argparse
import http.client
import sys
from typing import Dict, Optional

from sagemaker_inference.cli import settings
from sagemaker_inference.cli.client import invocation_url, post
from sagemaker_inference.cli.extensions import guess_content_type
from sagemaker_inference.cli.messages import (
    EXIT_HTTP_ERROR,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    PROG,
    one_line,
    prefixed,
)


def read_body(args: argparse.Namespace) -> bytes:
    """``--data`` as UTF-8, else the input file, else stdin (``-`` or no file)."""
    if args.data is not None:
        return args.data.encode("utf-8")
    if args.input in (None, "-"):
        return sys.stdin.buffer.read()
    with open(args.input, "rb") as handle:
        return handle.read()


def request_headers(args: argparse.Namespace) -> Dict[str, str]:
    """Content-Type (given or guessed), Accept when given, then each ``-H`` header."""
    headers = {"Content-Type": args.content_type or guess_content_type(args.input)}
    if args.accept:
        headers["Accept"] = args.accept
    for name, value in args.headers:
        headers[name] = value
    return headers


def run_invoke(args: argparse.Namespace) -> int:
    """Send the request; the answer's body goes to stdout or ``--output``. Returns the exit
    code (see :mod:`.messages`)."""
    err = sys.stderr
    try:
        body = read_body(args)
    except OSError as error:
        print(prefixed("error: cannot read %s: %s" % (args.input, error.strerror)), file=err)
        return EXIT_USAGE
    base = args.url or "http://localhost:%d" % (args.port or settings.default_port())
    url = invocation_url(base, args.model)
    try:
        status, reason, content_type, answer = post(url, body, request_headers(args), args.timeout)
    except (OSError, http.client.HTTPException, ValueError) as error:
        why = getattr(error, "strerror", None) or error
        message = "error: cannot reach %s (%s); is `%s serve` running?" % (url, why, PROG)
        print(prefixed(message), file=err)
        return EXIT_UNREACHABLE
    if not 200 <= status < 300:
        print(http_error(status, reason, answer), file=err)
        return EXIT_HTTP_ERROR
    write_answer(answer, content_type, args.output)
    return 0


def http_error(status: int, reason: str, answer: bytes) -> str:
    """The stderr line for a non-2xx answer: status, reason and the body when it says more."""
    message = prefixed("error: HTTP %d %s" % (status, reason))
    detail = one_line(answer.decode("utf-8", "replace"))
    if detail and detail != one_line(reason):
        message += ": " + detail
    return message


def write_answer(answer: bytes, content_type: Optional[str], output: Optional[str]) -> None:
    """The body to ``output`` (with a note on stderr), else to stdout as is (plus a newline on
    a terminal)."""
    if output:
        with open(output, "wb") as handle:
            handle.write(answer)
        note = "wrote %d bytes (%s) to %s" % (len(answer), content_type, output)
        print(prefixed(note), file=sys.stderr)
        return
    out = sys.stdout.buffer
    out.write(answer)
    if answer and not answer.endswith(b"\n") and sys.stdout.isatty():
        out.write(b"\n")
    out.flush()

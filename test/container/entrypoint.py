#!/usr/bin/env python3
"""ENTRYPOINT of the test containers.

SageMaker starts a hosting container as ``docker run IMAGE serve``: this script then starts the
model server through ``sagemaker_inference.model_server.start_model_server`` and exits with its
exit code. Any other command is run in place of this script (``docker run IMAGE bash``), which is
handy when debugging an image.

Outside Docker the same script serves ``$SAGEMAKER_BASE_DIR/model`` (or ``.../models`` with
``SAGEMAKER_MULTI_MODEL=true``); the integration tests run it that way.
"""

import os
import sys

USAGE = "usage: entrypoint.py serve | entrypoint.py COMMAND [ARG...]"


def serve() -> int:
    from sagemaker_inference import model_server

    try:
        code = model_server.start_model_server()
    except SystemExit as stop:
        code = stop.code
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def main(argv: list) -> int:
    if not argv:
        print(USAGE, file=sys.stderr)
        return 2
    if argv[0] == "serve":
        return serve()
    if argv[0] == "train":
        print("this is an inference container: it only knows 'serve'", file=sys.stderr)
        return 2
    try:
        os.execvp(argv[0], argv)
    except OSError as error:
        print("cannot run %s: %s" % (argv[0], error.strerror), file=sys.stderr)
        return 127
    return 0  # not reached: execvp replaces this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

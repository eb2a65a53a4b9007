"""``sagemaker-inference serve``: check a model directory, set up the server's environment, run it.

The server reads its settings from ``SAGEMAKER_*`` variables, as in a container; they are set
for the run only (:func:`sagemaker_inference.scoped_environ.scoped_environ`), and the scratch
directory that holds the model link and the per-run state is removed afterwards.
"""

import argparse
import os
import shutil
import socket
import sys
import tempfile
from typing import Dict, Mapping, Optional

from sagemaker_inference import parameters
from sagemaker_inference.cli import settings
from sagemaker_inference.cli.foreground import default_log_file, serve_foreground
from sagemaker_inference.cli.messages import EXIT_USAGE, prefixed
from sagemaker_inference.scoped_environ import scoped_environ

LOOPBACK = "127.0.0.1"


class ServeError(Exception):
    """A problem found before the server starts; its message is shown as one line."""


def serve_environment(
    model_dir: str,
    port: int,
    workers: Optional[int] = None,
    multi_model: bool = False,
    program: Optional[str] = None,
    scratch_dir: Optional[str] = None,
    host: str = LOOPBACK,
) -> Dict[str, str]:
    """The ``SAGEMAKER_*`` variables that make start_model_server serve ``model_dir``.

    The server reads its model from ``$SAGEMAKER_BASE_DIR/model`` (``.../models`` for a
    multi-model endpoint). When ``model_dir`` already has that name its parent is the base;
    otherwise ``scratch_dir`` becomes the base, holding a symbolic link to ``model_dir``.
    """
    model_dir = os.path.abspath(model_dir)
    if not os.path.isdir(model_dir):
        raise ServeError("model directory %s does not exist" % model_dir)
    leaf = "models" if multi_model else "model"
    if os.path.basename(model_dir) == leaf:
        base_dir = os.path.dirname(model_dir)
    else:
        if scratch_dir is None:
            raise ServeError("a scratch directory is needed to serve %s" % model_dir)
        base_dir = os.path.abspath(scratch_dir)
        os.makedirs(base_dir, exist_ok=True)
        link = os.path.join(base_dir, leaf)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(model_dir, link)
    env = {
        parameters.BASE_PATH_ENV: base_dir,
        settings.PORT: str(port),
        settings.BIND_ADDRESS: host,
        parameters.MULTI_MODEL_ENV: "true" if multi_model else "false",
    }
    if workers is not None:
        env[parameters.MODEL_SERVER_WORKERS_ENV] = str(workers)
    if program is not None:
        env[settings.PROGRAM] = program
    return env


def serve_host(option: Optional[str], environ: Mapping[str, str]) -> str:
    """``--host``, else SAGEMAKER_BIND_ADDRESS, else 127.0.0.1: a local server is not exposed to
    the network unless asked (a container's entrypoint binds every interface). ServeError when
    the variable is not an address."""
    if option:
        return option
    try:
        return settings.bind_address(environ) or LOOPBACK
    except ValueError as error:
        raise ServeError(str(error)) from None


def private_state(scratch_dir: str, environ: Mapping[str, str]) -> Dict[str, str]:
    """Per-run state (MMS config file, load-failure count) under ``scratch_dir``.

    Two servers on one machine then never share a config file (by default
    /etc/sagemaker-mms.properties when writable); variables the user set are kept.
    """
    state = os.path.join(scratch_dir, "state")
    wanted = {
        parameters.STATE_DIR_ENV: state,
        parameters.CONFIG_FILE_ENV: os.path.join(state, "sagemaker-mms.properties"),
    }
    chosen = settings.state_is_chosen(environ)
    return {name: value for name, value in wanted.items() if not chosen[name]}


def check_model_dir(model_dir: str, program: Optional[str], multi_model: bool) -> None:
    """Raise ServeError with a hint when ``model_dir`` cannot be what the user meant."""
    model_dir = os.path.abspath(model_dir)
    if not os.path.isdir(model_dir):
        raise ServeError("model directory %s does not exist" % model_dir)
    if multi_model:
        return
    name = program or settings.program() or "inference.py"
    if not name.endswith(".py"):
        name += ".py"
    script = os.path.join(model_dir, "code", name)
    if not os.path.isfile(script):
        raise ServeError(
            "%s not found: a model directory holds the model files plus code/%s "
            "(pass --model-dir, or --program for another file name)" % (script, name)
        )


def check_port_free(port: int) -> None:
    """Raise ServeError when something already listens on ``port``."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("0.0.0.0", port))
    except OSError as error:
        raise ServeError(
            "port %d is already in use (%s): stop the other server or pick another port "
            "with --port" % (port, error.strerror or error)
        ) from None
    finally:
        probe.close()


def say(message: str) -> None:
    """One line of the command's own on stdout."""
    sys.stdout.write(prefixed(message) + "\n")
    sys.stdout.flush()


def prepare(args: argparse.Namespace, port: int, scratch: str) -> Dict[str, str]:
    """Check the model directory and the port; the variables of the run (ServeError if not)."""
    if not args.multi_model:
        check_model_dir(args.model_dir, args.program, args.multi_model)
    env = serve_environment(
        args.model_dir,
        port,
        workers=args.workers,
        multi_model=args.multi_model,
        program=args.program,
        scratch_dir=scratch,
        host=serve_host(args.host, settings.current()),
    )
    check_port_free(port)
    env.update(private_state(scratch, settings.current()))
    return env


def run_serve(args: argparse.Namespace) -> int:
    """Serve until the server ends; its exit code (2 when the checks fail)."""
    port = args.port if args.port is not None else settings.default_port()
    scratch = tempfile.mkdtemp(prefix="sagemaker-inference-serve-")
    try:
        try:
            env = prepare(args, port, scratch)
        except ServeError as error:
            say("error: %s" % error)
            return EXIT_USAGE
        with scoped_environ(env):
            log_path = os.path.abspath(args.log_file) if args.log_file else default_log_file()
            served = os.path.abspath(args.model_dir)
            kind = " as a multi-model endpoint" if args.multi_model else ""
            say("serving %s%s on port %d (full log: %s)" % (served, kind, port, log_path))
            return serve_foreground(args, port, log_path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

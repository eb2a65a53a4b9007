"""sagemaker-inference 1.10.1's ``model_server`` helpers, for containers that start MMS themselves.

Framework containers (the Hugging Face toolkit first) import these from ``model_server`` under
their 1.10.1 private names (``_create_model_server_config_file``, ``_add_sigterm_handler``, ...);
``model_server`` binds those names to the functions here. ``start_model_server`` does not use
them: it runs on :mod:`.mms_config`, :mod:`.mms_command`, :mod:`.requirements` and
:mod:`.supervisor` with one :class:`~.environment.Environment` read at start.

The module constants are 1.10.1's, computed at import from ``environment.at_import``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from typing import Any, List, Optional

import psutil

from sagemaker_inference import environment, mms_config, parameters, requirements, supervisor
from sagemaker_inference import worker_env

DEFAULT_MMS_CONFIG_FILE = mms_config.DEFAULT_PROPERTIES_TEMPLATE
MME_MMS_CONFIG_FILE = mms_config.MME_PROPERTIES_TEMPLATE
DEFAULT_MMS_LOG_FILE = mms_config.LOG4J2_CONFIG
DEFAULT_MMS_MODEL_EXPORT_DIRECTORY = os.path.join(os.getcwd(), ".sagemaker", "mms", "models")
DEFAULT_MMS_MODEL_NAME = mms_config.SINGLE_MODEL_NAME

# The same reading as environment.model_dir's, made once at import.
ENABLE_MULTI_MODEL = environment.multi_model
MODEL_STORE = "/"
MMS_CONFIG_FILE = mms_config.config_file_path(environment.at_import)

PYTHON_PATH_ENV = worker_env.PYTHON_PATH_ENV
REQUIREMENTS_PATH = os.path.join(environment.code_dir, "requirements.txt")
MMS_NAMESPACE = "com.amazonaws.ml.mms.ModelServer"

SHUTDOWN_GRACE_ENV = parameters.SHUTDOWN_GRACE_ENV
DEFAULT_SHUTDOWN_GRACE_SECONDS = environment.DEFAULT_SHUTDOWN_GRACE_SECONDS


def shutdown_grace_seconds() -> float:
    """SAGEMAKER_SHUTDOWN_GRACE_SECONDS now (default 20); ValueError for a bad value."""
    return environment.read_setting("shutdown_grace_seconds")


def adapt_to_mms_format(handler_service: str, model_path: Optional[str] = None) -> None:
    """Lay out ``model_path`` (default: ``environment.model_dir``, as in 1.10.1) as MMS model
    DEFAULT_MMS_MODEL_NAME in DEFAULT_MMS_MODEL_EXPORT_DIRECTORY.

    The entries of ``model_path`` are symlinked (nothing is copied) next to a
    ``MAR-INF/MANIFEST.json`` that names ``handler_service``; no model-archiver is needed.
    """
    target = os.path.join(DEFAULT_MMS_MODEL_EXPORT_DIRECTORY, DEFAULT_MMS_MODEL_NAME)
    if os.path.islink(target) or os.path.isfile(target):
        os.remove(target)
    elif os.path.isdir(target):
        shutil.rmtree(target)
    os.makedirs(os.path.join(target, "MAR-INF"))
    source = os.path.realpath(model_path if model_path is not None else environment.model_dir)
    for entry in sorted(os.listdir(source)):
        if entry != "MAR-INF":
            os.symlink(os.path.join(source, entry), os.path.join(target, entry))
    manifest = {
        "createdOn": time.strftime("%d/%m/%Y %H:%M:%S"),
        "runtime": "python",
        "model": {
            "modelName": DEFAULT_MMS_MODEL_NAME,
            "handler": handler_service,
            "modelVersion": "1.0",
        },
        "archiverVersion": "sagemaker-inference",
        "specificationVersion": "1.0",
    }
    with open(os.path.join(target, "MAR-INF", "MANIFEST.json"), "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2)
    set_python_path()


def set_python_path() -> None:
    """Put the user's code directory first on this process's PYTHONPATH (for MMS's workers)."""
    current = os.environ.get(PYTHON_PATH_ENV)
    os.environ[PYTHON_PATH_ENV] = worker_env.python_path_with(environment.code_dir, current)


def create_model_server_config_file(env: Any, handler_service: Optional[str] = None) -> None:
    """Write MMS_CONFIG_FILE for a container that starts MMS itself (1.10.1's helper).

    The file is the one :func:`generate_mms_config_properties` returns.
    """
    mms_config.write_text(MMS_CONFIG_FILE, generate_mms_config_properties(env, handler_service))


def generate_mms_config_properties(env: Any, handler_service: Optional[str] = None) -> str:
    """MMS properties for a container that runs ``multi-model-server --start`` itself.

    Written where downstream containers rely on 1.10.1's file: ``enable_envvars_config=true``
    (``MMS_*`` variables configure MMS), and in single-model mode ``load_models=ALL`` with no
    ``model_store`` line, so MMS serves whatever the caller's ``--model-store`` holds even when
    it passes no ``--models`` (the Hugging Face container's ``HF_MODEL_ID`` path); in multi-model
    mode ``model_store=/`` and no model at start. The rest is this project's: the response
    timeout in seconds, the management API on a loopback port in single-model mode, the /ping
    readiness plugin.
    """
    if ENABLE_MULTI_MODEL:
        model_store: Optional[str] = MODEL_STORE
        overrides = {"enable_envvars_config": "true"}
    else:
        model_store = None
        overrides = {"enable_envvars_config": "true", "load_models": "ALL"}
    return mms_config.generate_properties(
        env,
        handler_service,
        multi_model=ENABLE_MULTI_MODEL,
        model_store=model_store,
        plugins=mms_config.plugins_path(),
        overrides=overrides,
    )


def get_codeartifact_index(client: Any = None) -> str:
    """pip index URL for the repository CA_REPOSITORY_ARN names (see requirements)."""
    arn = environment.or_current(None).ca_repository_arn
    return requirements.codeartifact_index(arn or "", client)


def install_requirements() -> None:
    """pip install REQUIREMENTS_PATH, from CodeArtifact when CA_REPOSITORY_ARN is set."""
    arn = environment.or_current(None).ca_repository_arn
    requirements.install(REQUIREMENTS_PATH, arn)


def _config_file_of(cmdline: List[str]) -> Optional[str]:
    for flag in ("-f", "--mms-config"):
        if flag in cmdline:
            index = cmdline.index(flag)
            if index + 1 < len(cmdline):
                return os.path.realpath(cmdline[index + 1])
    return None


def _mms_processes(config_file: str) -> List[psutil.Process]:
    """Live MMS Java processes started with ``config_file``."""
    wanted = os.path.realpath(config_file)
    matches = []
    for proc in psutil.process_iter():
        try:
            cmdline = proc.cmdline()
            if MMS_NAMESPACE not in cmdline or proc.status() == psutil.STATUS_ZOMBIE:
                continue
        except psutil.Error:
            continue
        if _config_file_of(cmdline) == wanted:
            matches.append(proc)
    return matches


def retrieve_mms_server_process() -> psutil.Process:
    """The live MMS Java process started with MMS_CONFIG_FILE (ours first if there are several)."""
    matches = _mms_processes(MMS_CONFIG_FILE)
    if len(matches) > 1:
        own = {child.pid for child in psutil.Process().children(recursive=True)}
        mine = [proc for proc in matches if proc.pid in own]
        matches = mine or matches
    if not matches:
        raise Exception("mms model server was unsuccessfully started")
    if len(matches) > 1:
        raise Exception(
            "multiple mms model servers use {}: {}".format(
                MMS_CONFIG_FILE, [proc.pid for proc in matches]
            )
        )
    return matches[0]


def retry_retrieve_mms_server_process(startup_timeout: float) -> psutil.Process:
    """Poll for the MMS process once a second for up to ``startup_timeout`` seconds."""
    deadline = time.monotonic() + float(startup_timeout)
    while True:
        try:
            return retrieve_mms_server_process()
        except Exception:
            if time.monotonic() >= deadline:
                raise
        time.sleep(1)


def stop_process_tree(mms_process: Any, grace_seconds: Optional[float] = None) -> None:
    """Drain, SIGTERM the process, then end every process below it."""
    try:
        proc = psutil.Process(mms_process.pid)
        descendants = proc.children(recursive=True)
    except psutil.Error:
        return
    grace = shutdown_grace_seconds() if grace_seconds is None else grace_seconds
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and supervisor.busy_workers(proc):
        time.sleep(0.1)
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=5)
    except psutil.Error:  # TimeoutExpired included: the tree is ended below
        pass
    supervisor.terminate_tree(None, [proc] + descendants)


def add_sigterm_handler(mms_process: Any) -> None:
    """On SIGTERM, stop ``mms_process`` (a psutil.Process or Popen) and all it started."""

    def _terminate(signo: int, frame: Any) -> None:
        stop_process_tree(mms_process)

    signal.signal(signal.SIGTERM, _terminate)


def add_sigchild_handler() -> None:
    """Reap every exited child on SIGCHLD (callers that wait on a Popen should not use this)."""

    def _reap(signo: int, frame: Any) -> None:
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return

    signal.signal(signal.SIGCHLD, _reap)

"""Configure, start and supervise Multi Model Server (MMS) for a SageMaker serving container.

A container's entrypoint calls :func:`start_model_server`; it returns 0 after a requested stop
(SIGTERM/SIGINT) and raises ``SystemExit`` with a non-zero code when MMS could not serve (see
:mod:`sagemaker_inference.supervisor` for the codes). The private helpers keep the names and
meaning they had in sagemaker-inference 1.10.1, because framework containers call them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from typing import Any, List, Optional

import psutil

from sagemaker_inference import (
    environment,
    mms_command,
    mms_config,
    mms_worker,
    parameters,
    supervisor,
)
from sagemaker_inference import logging as sm_logging

logger = sm_logging.get_logger()

DEFAULT_HANDLER_SERVICE = "sagemaker_inference.default_handler_service"

DEFAULT_MMS_CONFIG_FILE = mms_config.DEFAULT_PROPERTIES_TEMPLATE
MME_MMS_CONFIG_FILE = mms_config.MME_PROPERTIES_TEMPLATE
DEFAULT_MMS_LOG_FILE = mms_config.LOG4J2_CONFIG
DEFAULT_MMS_MODEL_EXPORT_DIRECTORY = os.path.join(os.getcwd(), ".sagemaker", "mms", "models")
DEFAULT_MMS_MODEL_NAME = "model"

# The same reading as environment.model_dir's (environment.parse_bool's rule), made once.
ENABLE_MULTI_MODEL = environment.multi_model
MODEL_STORE = "/"
MMS_CONFIG_FILE = mms_config.config_file_path()

PYTHON_PATH_ENV = "PYTHONPATH"
REQUIREMENTS_PATH = os.path.join(environment.code_dir, "requirements.txt")
MMS_NAMESPACE = "com.amazonaws.ml.mms.ModelServer"

SHUTDOWN_GRACE_ENV = "SAGEMAKER_SHUTDOWN_GRACE_SECONDS"
DEFAULT_SHUTDOWN_GRACE_SECONDS = 20.0


def start_model_server(handler_service: str = DEFAULT_HANDLER_SERVICE) -> int:
    """Serve the model under SAGEMAKER_BASE_DIR through MMS and block until MMS ends.

    Returns 0 after a requested stop; raises ``SystemExit`` with a non-zero code when MMS
    ended on its own, the model failed to load repeatedly, or its Python backend died.
    """
    sm_logging.configure_logger()
    env = environment.Environment()
    java = mms_command.find_java()

    if ENABLE_MULTI_MODEL:
        if not os.environ.get(parameters.HANDLER_ENV):
            os.environ[parameters.HANDLER_ENV] = handler_service
        model_store = "/"
        models: List[str] = []
    else:
        if not os.path.isdir(env.model_dir):
            raise ValueError("Model directory {} does not exist".format(env.model_dir))
        model_store = os.path.dirname(env.model_dir)
        models = ["{}={}".format(DEFAULT_MMS_MODEL_NAME, os.path.basename(env.model_dir))]
    _set_python_path()

    management_port = None
    if not ENABLE_MULTI_MODEL:
        management_port = mms_config.pick_management_port(
            int(env.inference_http_port), env.safe_port_range
        )
    plugins = mms_config.plugins_path()
    properties = mms_config.generate_properties(
        env,
        handler_service,
        multi_model=ENABLE_MULTI_MODEL,
        model_store=model_store,
        management_port=management_port,
        plugins=plugins,
    )
    mms_config.write_text(MMS_CONFIG_FILE, properties)
    logger.info("Wrote MMS configuration to %s", MMS_CONFIG_FILE)

    if os.path.exists(REQUIREMENTS_PATH):
        _install_requirements()

    child_env = dict(os.environ)
    failure_file = None
    if not ENABLE_MULTI_MODEL:
        failure_file = env.load_failure_file or mms_config.load_failure_file()
        child_env[parameters.LOAD_FAILURE_FILE_ENV] = failure_file
    else:
        child_env.pop(parameters.LOAD_FAILURE_FILE_ENV, None)

    patches = mms_config.patches_path()
    if env.batch_size > 1 and not patches:
        raise ValueError(
            "{}={} needs the library's patched MMS front end, which applies it, and that jar "
            "is not in use ({} is empty, or the jar is unavailable: see the log)".format(
                parameters.BATCH_SIZE_ENV, env.batch_size, mms_config.PATCHES_PATH_ENV
            )
        )
    runtime_dir = mms_config.runtime_dir()
    try:
        worker_errors = os.path.join(runtime_dir, "worker-errors")
        cmd = mms_command.build_command(
            java,
            MMS_CONFIG_FILE,
            model_store,
            models=models,
            vmargs=env.vmargs,
            log_config=DEFAULT_MMS_LOG_FILE,
            log_level=env.log_level,
            tmp_dir=runtime_dir,
            plugins_path=plugins,
            patches_path=patches,
            python=_worker_launcher(runtime_dir, worker_errors),
        )
        port = int(env.inference_http_port)
        watcher = supervisor.Supervisor(
            cmd,
            env=child_env,
            inference_port=port,
            multi_model=ENABLE_MULTI_MODEL,
            management_url="http://127.0.0.1:{}".format(port),
            load_failure_file=failure_file,
            max_load_failures=env.max_load_failures,
            grace_seconds=_shutdown_grace_seconds(),
            startup_timeout=env.startup_timeout,
            worker_error_file=worker_errors,
            # The patched front end drains itself on SIGTERM (503 to new requests).
            java_drains=bool(patches),
        )
        code = watcher.run()
    finally:
        shutil.rmtree(runtime_dir, ignore_errors=True)
    if code != supervisor.EXIT_STOPPED:
        raise SystemExit(code)
    return code


def _worker_launcher(runtime_dir: str, error_file: str) -> Optional[str]:
    """The launcher MMS runs as its Python (see mms_worker), or None for plain Python."""
    for directory in (runtime_dir, mms_config.state_dir()):
        try:
            os.makedirs(directory, exist_ok=True)
            launcher = mms_worker.write_launcher(directory, error_file)
        except OSError:
            continue
        if launcher:
            return launcher
    logger.warning(
        "No executable location for the worker launcher (%s and %s refuse to run scripts); "
        "MMS's Python backends will not end by themselves if this process is killed",
        runtime_dir,
        mms_config.state_dir(),
    )
    return None


def _shutdown_grace_seconds() -> float:
    raw = os.environ.get(SHUTDOWN_GRACE_ENV, "").strip()
    if not raw:
        return DEFAULT_SHUTDOWN_GRACE_SECONDS
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("{}={!r} is not a number of seconds".format(SHUTDOWN_GRACE_ENV, raw))
    return max(0.0, value)


def _adapt_to_mms_format(handler_service: str, model_path: Optional[str] = None) -> None:
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
        if entry == "MAR-INF":
            continue
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
    _set_python_path()


def _set_python_path() -> None:
    """Put the user's code directory first on PYTHONPATH for MMS's Python workers."""
    code_dir = environment.code_dir
    current = os.environ.get(PYTHON_PATH_ENV)
    if not current:
        os.environ[PYTHON_PATH_ENV] = code_dir
        return
    parts = current.split(os.pathsep)
    if code_dir not in parts:
        os.environ[PYTHON_PATH_ENV] = os.pathsep.join([code_dir] + parts)


def _create_model_server_config_file(env: Any, handler_service: Optional[str] = None) -> None:
    """Write MMS_CONFIG_FILE for a container that starts MMS itself (1.10.1's helper).

    The file is the one :func:`_generate_mms_config_properties` returns; ``start_model_server``
    does not use this helper (its configuration keeps MMS_* variables off and names its models).
    """
    mms_config.write_text(MMS_CONFIG_FILE, _generate_mms_config_properties(env, handler_service))


def _generate_mms_config_properties(env: Any, handler_service: Optional[str] = None) -> str:
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


def _get_codeartifact_index(client: Any = None) -> str:
    """pip index URL, with a fresh token, for the repository CA_REPOSITORY_ARN names.

    The URL is the repository's own PyPI endpoint as CodeArtifact reports it
    (``get_repository_endpoint``, right in every partition), with ``simple/`` appended and the
    token as the password. ``client`` is a boto3 CodeArtifact client; by default one is made for
    the ARN's region (boto3 is imported only then).
    """
    arn = os.environ.get(parameters.CA_REPOSITORY_ARN_ENV, "")
    parts = arn.split(":")
    if (
        len(parts) != 6
        or parts[0] != "arn"
        or parts[2] != "codeartifact"
        or not all(parts[1:5])
        or not parts[5].startswith("repository/")
        or parts[5].count("/") != 2
        or not all(parts[5].split("/"))
    ):
        raise ValueError(
            "CA_REPOSITORY_ARN={!r} is not arn:<partition>:codeartifact:<region>:<account>:"
            "repository/<domain>/<repository>".format(arn)
        )
    region, owner = parts[3], parts[4]
    _, domain, repository = parts[5].split("/")
    if client is None:
        try:
            import boto3
        except ImportError:
            raise ValueError(
                "CA_REPOSITORY_ARN is set but boto3 is not installed; "
                "pip install 'sagemaker-inference[codeartifact]'"
            ) from None
        client = boto3.client("codeartifact", region_name=region)
    logger.info(
        "Installing from CodeArtifact repository %s of domain %s (owner %s, region %s)",
        repository,
        domain,
        owner,
        region,
    )
    token = client.get_authorization_token(domain=domain, domainOwner=owner)["authorizationToken"]
    endpoint = client.get_repository_endpoint(
        domain=domain, domainOwner=owner, repository=repository, format="pypi"
    )["repositoryEndpoint"]
    scheme, separator, rest = endpoint.partition("://")
    if not separator or not rest:
        raise ValueError("CodeArtifact returned an unusable endpoint {!r}".format(endpoint))
    return "{}://aws:{}@{}/simple/".format(scheme, token, rest.rstrip("/"))


def _install_requirements() -> None:
    """pip install REQUIREMENTS_PATH (relative paths in it resolve against the code directory)."""
    logger.info("Installing packages from %s", REQUIREMENTS_PATH)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "-r",
        REQUIREMENTS_PATH,
    ]
    shown = list(cmd)
    if os.environ.get(parameters.CA_REPOSITORY_ARN_ENV):
        cmd += ["-i", _get_codeartifact_index()]
        shown += ["-i", "<CodeArtifact index>"]
    logger.info("Running: %s", " ".join(shown))
    try:
        subprocess.check_call(cmd, cwd=os.path.dirname(os.path.abspath(REQUIREMENTS_PATH)))
    except subprocess.CalledProcessError:
        logger.error("Failed to install the packages of %s", REQUIREMENTS_PATH)
        raise ValueError("failed to install required packages")


def _config_file_of(cmdline: List[str]) -> Optional[str]:
    for flag in ("-f", "--mms-config"):
        if flag in cmdline:
            index = cmdline.index(flag)
            if index + 1 < len(cmdline):
                return os.path.realpath(cmdline[index + 1])
    return None


def _retrieve_mms_server_process() -> psutil.Process:
    """The live MMS Java process started with MMS_CONFIG_FILE (ours first if there are several)."""
    wanted = os.path.realpath(MMS_CONFIG_FILE)
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


def _retry_retrieve_mms_server_process(startup_timeout: float) -> psutil.Process:
    """Poll for the MMS process once a second for up to ``startup_timeout`` seconds."""
    deadline = time.monotonic() + float(startup_timeout)
    while True:
        try:
            return _retrieve_mms_server_process()
        except Exception:
            if time.monotonic() >= deadline:
                raise
        time.sleep(1)


def _stop_process_tree(mms_process: Any, grace_seconds: Optional[float] = None) -> None:
    """Drain, SIGTERM the process, then end every process below it."""
    try:
        proc = psutil.Process(mms_process.pid)
        descendants = proc.children(recursive=True)
    except psutil.Error:
        return
    grace = _shutdown_grace_seconds() if grace_seconds is None else grace_seconds
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and supervisor.busy_workers(proc):
        time.sleep(0.1)
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=5)
    except psutil.TimeoutExpired:
        pass
    except psutil.Error:
        pass
    supervisor.terminate_tree(None, [proc] + descendants)


def _add_sigterm_handler(mms_process: Any) -> None:
    """On SIGTERM, stop ``mms_process`` (a psutil.Process or Popen) and all it started."""

    def _terminate(signo: int, frame: Any) -> None:
        _stop_process_tree(mms_process)

    signal.signal(signal.SIGTERM, _terminate)


def _add_sigchild_handler() -> None:
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

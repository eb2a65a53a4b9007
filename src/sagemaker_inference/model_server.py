"""Configure, start and supervise Multi Model Server (MMS) for a SageMaker serving container.

A container's entrypoint calls :func:`start_model_server`; it returns 0 after a requested stop
(SIGTERM/SIGINT) and raises ``SystemExit`` with a non-zero code when MMS could not serve (see
:mod:`sagemaker_inference.supervisor` for the codes).

The 1.10.1 helpers framework containers import from here (``_create_model_server_config_file``,
``_add_sigterm_handler``, ``MMS_CONFIG_FILE``, ...) are implemented in
:mod:`sagemaker_inference.model_server_compat` and bound here under their 1.10.1 names.
"""

from __future__ import annotations

import os
import shutil
from typing import List, Optional, Tuple

from sagemaker_inference import (
    environment,
    mms_command,
    mms_config,
    mms_worker,
    parameters,
    requirements,
    supervisor,
    worker_env,
)
from sagemaker_inference import logging as sm_logging
from sagemaker_inference import model_server_compat as compat

logger = sm_logging.get_logger()

DEFAULT_HANDLER_SERVICE = "sagemaker_inference.default_handler_service"

# 1.10.1's names, kept for the containers that import them (see model_server_compat).
DEFAULT_MMS_CONFIG_FILE = compat.DEFAULT_MMS_CONFIG_FILE
MME_MMS_CONFIG_FILE = compat.MME_MMS_CONFIG_FILE
DEFAULT_MMS_LOG_FILE = compat.DEFAULT_MMS_LOG_FILE
DEFAULT_MMS_MODEL_EXPORT_DIRECTORY = compat.DEFAULT_MMS_MODEL_EXPORT_DIRECTORY
DEFAULT_MMS_MODEL_NAME = compat.DEFAULT_MMS_MODEL_NAME
ENABLE_MULTI_MODEL = compat.ENABLE_MULTI_MODEL
MODEL_STORE = compat.MODEL_STORE
MMS_CONFIG_FILE = compat.MMS_CONFIG_FILE
PYTHON_PATH_ENV = compat.PYTHON_PATH_ENV
REQUIREMENTS_PATH = compat.REQUIREMENTS_PATH
MMS_NAMESPACE = compat.MMS_NAMESPACE
SHUTDOWN_GRACE_ENV = compat.SHUTDOWN_GRACE_ENV
DEFAULT_SHUTDOWN_GRACE_SECONDS = compat.DEFAULT_SHUTDOWN_GRACE_SECONDS
_adapt_to_mms_format = compat.adapt_to_mms_format
_set_python_path = compat.set_python_path
_create_model_server_config_file = compat.create_model_server_config_file
_generate_mms_config_properties = compat.generate_mms_config_properties
_get_codeartifact_index = compat.get_codeartifact_index
_install_requirements = compat.install_requirements
_retrieve_mms_server_process = compat.retrieve_mms_server_process
_retry_retrieve_mms_server_process = compat.retry_retrieve_mms_server_process
_stop_process_tree = compat.stop_process_tree
_shutdown_grace_seconds = compat.shutdown_grace_seconds
_add_sigterm_handler = compat.add_sigterm_handler
_add_sigchild_handler = compat.add_sigchild_handler


def start_model_server(handler_service: str = DEFAULT_HANDLER_SERVICE) -> int:
    """Serve the model under SAGEMAKER_BASE_DIR through MMS and block until MMS ends.

    Returns 0 after a requested stop; raises ``SystemExit`` with a non-zero code when MMS
    ended on its own, the model failed to load repeatedly, or its Python backend died.
    """
    env = environment.Environment()
    sm_logging.configure_logger(env=env)
    java = mms_command.find_java(env)
    model_store, models = _models_at_start(env, handler_service)
    plugins = mms_config.plugins_path(env)
    config_file = _write_config(env, handler_service, model_store, plugins)
    requirements_file = os.path.join(env.code_dir, "requirements.txt")
    if os.path.exists(requirements_file):
        requirements.install(requirements_file, env.ca_repository_arn)
    patches = _patches_for(env)
    failure_file = None if env.multi_model else mms_config.load_failure_file(env)
    runtime_dir = mms_config.runtime_dir()
    try:
        worker_errors = os.path.join(runtime_dir, "worker-errors")
        cmd = mms_command.build_command(
            java,
            config_file,
            model_store,
            models=models,
            vmargs=env.vmargs,
            log_config=mms_config.LOG4J2_CONFIG,
            log_level=env.log_level,
            tmp_dir=runtime_dir,
            plugins_path=plugins,
            patches_path=patches,
            python=_worker_launcher(env, runtime_dir, worker_errors),
            env=env,
        )
        watcher = _supervisor(env, cmd, failure_file, worker_errors, java_drains=bool(patches))
        code = watcher.run()
    finally:
        shutil.rmtree(runtime_dir, ignore_errors=True)
    if code != supervisor.EXIT_STOPPED:
        raise SystemExit(code)
    return code


def _models_at_start(env: environment.Environment, handler_service: str) -> Tuple[str, List[str]]:
    """MMS's model store and the models it loads at start (none on a multi-model endpoint,
    where SAGEMAKER_HANDLER names the handler service for the models loaded later)."""
    if env.multi_model:
        if not env.handler:
            os.environ[parameters.HANDLER_ENV] = handler_service
        return compat.MODEL_STORE, []
    if not os.path.isdir(env.model_dir):
        raise ValueError("Model directory {} does not exist".format(env.model_dir))
    name = os.path.basename(env.model_dir)
    return os.path.dirname(env.model_dir), ["{}={}".format(mms_config.SINGLE_MODEL_NAME, name)]


def _write_config(
    env: environment.Environment, handler_service: str, model_store: str, plugins: Optional[str]
) -> str:
    """Write MMS's properties file for this start; returns its path."""
    management_port = None
    if not env.multi_model:
        management_port = mms_config.pick_management_port(
            int(env.inference_http_port), env.safe_port_range, env.management_port
        )
    properties = mms_config.generate_properties(
        env,
        handler_service,
        multi_model=env.multi_model,
        model_store=model_store,
        management_port=management_port,
        plugins=plugins,
    )
    path = mms_config.config_file_path(env)
    mms_config.write_text(path, properties)
    logger.info("Wrote MMS configuration to %s", path)
    return path


def _patches_for(env: environment.Environment) -> Optional[str]:
    """The patched front end's jar, or None; ValueError when batching is asked without it."""
    patches = mms_config.patches_path(env)
    if env.batch_size > 1 and not patches:
        raise ValueError(
            "{}={} needs the library's patched MMS front end, which applies it, and that jar "
            "is not in use ({} is empty, or the jar is unavailable: see the log)".format(
                parameters.BATCH_SIZE_ENV, env.batch_size, parameters.PATCHES_PATH_ENV
            )
        )
    return patches


def _supervisor(
    env: environment.Environment,
    cmd: List[str],
    failure_file: Optional[str],
    worker_errors: str,
    java_drains: bool,
) -> supervisor.Supervisor:
    """The supervisor of this start's MMS process. ``java_drains``: the patched front end
    drains itself on SIGTERM (503 to new requests)."""
    port = int(env.inference_http_port)
    return supervisor.Supervisor(
        cmd,
        env=worker_env.for_mms(os.environ, env.code_dir, failure_file),
        inference_port=port,
        multi_model=env.multi_model,
        management_url="http://127.0.0.1:{}".format(port),
        load_failure_file=failure_file,
        max_load_failures=env.max_load_failures,
        grace_seconds=env.shutdown_grace_seconds,
        startup_timeout=env.startup_timeout,
        worker_error_file=worker_errors,
        java_drains=java_drains,
    )


def _worker_launcher(
    env: environment.Environment, runtime_dir: str, error_file: str
) -> Optional[str]:
    """The launcher MMS runs as its Python (see mms_worker), or None for plain Python."""
    state_dir = mms_config.state_dir(env)
    for directory in (runtime_dir, state_dir):
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
        state_dir,
    )
    return None

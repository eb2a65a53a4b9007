"""The java command line that runs Multi Model Server's front end in the foreground."""

from __future__ import annotations

import os
import shlex
import sys
from typing import List, Optional, Sequence

from sagemaker_inference import cds, mms_config
from sagemaker_inference.environment import Environment, or_current
from sagemaker_inference.java_runtime import (  # noqa: F401 - re-exported, their old home
    JAVA_INSTALL_HINT,
    JavaNotFoundError,
    class_path,
    find_java,
    mms_home,
)
from sagemaker_inference.logging import log4j_level, metrics_wanted

# build_command's default for ``patches_path``: ask mms_config.patches_path().
DISCOVER = "<discover>"

# How log4j's asynchronous logger thread waits for lines (MMS logs asynchronously: async_logging
# in the properties). Log4j's default blocks on a lock that every line signals, so under load the
# thread is woken once per request, for its access line. Sleeping 10 ms between batches (what the
# default's timeout already costs an idle server) lets lines queue, and the requests no longer
# wake anybody: about 10 us of CPU less per request (benchmarks/RESULTS.md, section 4).
# SAGEMAKER_MODEL_SERVER_VMARGS comes later on the command line, so it can set them otherwise.
LOG4J_WAIT_ARGS = (
    "-DAsyncLogger.WaitStrategy=Sleep",
    "-DAsyncLogger.SleepTimeNs=10000000",
    "-DAsyncLogger.Retries=0",
)


def build_command(
    java: str,
    config_file: str,
    model_store: str,
    models: Sequence[str] = (),
    vmargs: Optional[str] = None,
    log_config: Optional[str] = None,
    log_level: Optional[str] = None,
    tmp_dir: Optional[str] = None,
    plugins_path: Optional[str] = None,
    python: Optional[str] = None,
    patches_path: Optional[str] = DISCOVER,
    env: Optional[Environment] = None,
) -> List[str]:
    """The java command; ``patches_path`` None or "" leaves MMS's own classes in use.

    ``env`` gives the class-data-sharing archive and, for DISCOVER, the patches setting.
    """
    env = or_current(env)
    if patches_path == DISCOVER:
        patches_path = mms_config.patches_path(env)
    level = log4j_level(log_level)
    debug = metrics_wanted(log_level)
    cmd = [java, "-Dmodel_server_home={}".format(mms_home())]
    if log_config:
        cmd.append("-Dlog4j.configurationFile=file://{}".format(os.path.realpath(log_config)))
    cmd += [
        "-Dsagemaker.log.level={}".format(level),
        "-Dsagemaker.metrics.level={}".format("info" if debug else "off"),
        "-Dsagemaker.ping.log={}".format("NEUTRAL" if debug else "DENY"),
        "-Dsagemaker.backend.time.log={}".format("NEUTRAL" if debug else "DENY"),
        *LOG4J_WAIT_ARGS,
    ]
    if tmp_dir:
        cmd.append("-Djava.io.tmpdir={}".format(tmp_dir))
    for arg in shlex.split(vmargs or ""):
        if log_config and arg.startswith("-Dlog4j.configurationFile="):
            continue
        cmd.append(arg)
    path = class_path(plugins_path, patches_path)
    cmd += cds.start_args(java, path, env)  # [] unless SAGEMAKER_MMS_CDS_ARCHIVE matches
    cmd += ["-cp", path, "com.amazonaws.ml.mms.ModelServer"]
    cmd += ["--python", python or sys.executable, "-f", config_file, "-s", model_store]
    if models:
        cmd += ["-m", *models]
    return cmd

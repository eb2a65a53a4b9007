"""The java command line that runs Multi Model Server's front end in the foreground."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from typing import List, Optional, Sequence

import mms

from sagemaker_inference import cds, mms_config
from sagemaker_inference.environment import Environment, or_current
from sagemaker_inference.logging import log4j_level, metrics_wanted

JAVA_INSTALL_HINT = (
    "Multi Model Server needs a Java 11+ runtime and no 'java' was found{where}. Install one, e.g. "
    "'apt-get install -y openjdk-17-jre-headless' (Debian/Ubuntu) or 'yum install -y "
    "java-17-amazon-corretto-headless' (Amazon Linux), or set JAVA_HOME to a JDK/JRE."
)


class JavaNotFoundError(RuntimeError):
    pass


def find_java(env: Optional[Environment] = None) -> str:
    """Absolute path of the java binary: $JAVA_HOME/bin/java when JAVA_HOME is set, else PATH."""
    java_home = or_current(env).java_home
    if java_home:
        candidate = os.path.join(java_home, "bin", "java")
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
        raise JavaNotFoundError(JAVA_INSTALL_HINT.format(where=" at {}".format(candidate)))
    found = shutil.which("java")
    if not found:
        raise JavaNotFoundError(JAVA_INSTALL_HINT.format(where=" on PATH"))
    return found


def mms_home() -> str:
    """Directory holding the ``mms`` package: MMS's ``model_server_home``."""
    return os.path.dirname(os.path.dirname(os.path.realpath(mms.__file__)))


# build_command's default for ``patches_path``: ask mms_config.patches_path().
DISCOVER = "<discover>"


def class_path(plugins_path: Optional[str] = None, patches_path: Optional[str] = None) -> str:
    """java -cp value. ``patches_path`` (a jar of fixed MMS classes) comes before MMS's jars so
    its classes win; plugins come after them, as MMS's own launcher puts them."""
    entries = [os.path.join(mms_home(), "mms", "frontend", "*")]
    if patches_path:
        entries.insert(0, patches_path)
    if plugins_path:
        entries.append(plugins_path if "*" in plugins_path else os.path.join(plugins_path, "*"))
    return ":".join(entries)


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

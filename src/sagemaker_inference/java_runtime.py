"""The Java side of MMS: the java binary, MMS's home directory and its class path."""

from __future__ import annotations

import os
import shutil
from typing import Optional

import mms

from sagemaker_inference.environment import Environment, or_current

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


def class_path(plugins_path: Optional[str] = None, patches_path: Optional[str] = None) -> str:
    """java -cp value. ``patches_path`` (a jar of fixed MMS classes) comes before MMS's jars so
    its classes win; plugins come after them, as MMS's own launcher puts them."""
    entries = [os.path.join(mms_home(), "mms", "frontend", "*")]
    if patches_path:
        entries.insert(0, patches_path)
    if plugins_path:
        entries.append(plugins_path if "*" in plugins_path else os.path.join(plugins_path, "*"))
    return ":".join(entries)

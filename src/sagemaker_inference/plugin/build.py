"""Compile the plugin and patch jars from ``java-src/`` with a JDK (never on the server's start).

Used by ``python -m sagemaker_inference.plugin build`` when the Java source changes. The jars
are compiled with ``--release 11`` against MMS's ``model-server.jar`` and written
reproducibly (fixed entry times and order), so rebuilding unchanged source gives the same
bytes. Each manifest records :func:`sagemaker_inference.plugin.source_digest` of the source.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import zipfile
from typing import Optional, Sequence

from sagemaker_inference import plugin
from sagemaker_inference.environment import Environment, or_current

JAVAC_TIMEOUT_SECONDS = 300
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class BuildError(Exception):
    """The jar could not be built; the message says why in one line."""


def find_javac(env: Optional[Environment] = None) -> Optional[str]:
    """``$JAVA_HOME/bin/javac`` when present, else the one on PATH, else None."""
    java_home = or_current(env).java_home
    if java_home:
        candidate = os.path.join(java_home, "bin", "javac")
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("javac")


def build(artifact: plugin.Artifact, target: str, javac: Optional[str] = None) -> str:
    """Compile ``artifact`` into the jar file ``target`` (replaced atomically); returns it."""
    javac = javac or find_javac()
    if javac is None:
        raise BuildError("javac (a JDK's Java compiler) was not found on PATH or in JAVA_HOME")
    server_jar = plugin.model_server_jar()
    if server_jar is None:
        raise BuildError("multi-model-server's model-server.jar was not found")
    sources = artifact.sources()
    java_files = [path for path in sources if path.endswith(".java")]
    if not java_files:
        raise BuildError("no Java source under {}".format(plugin.JAVA_SOURCE_DIR))
    resources = [path for path in sources if not path.endswith(".java")]
    with tempfile.TemporaryDirectory(prefix="sagemaker-mms-jar-") as work:
        classes = os.path.join(work, "classes")
        os.makedirs(classes)
        compile_java(javac, server_jar, java_files, classes)
        staging = os.path.join(work, artifact.jar_name)
        write_jar(staging, classes, resources, plugin.source_digest(sources))
        os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
        # Copy beside the target, then rename: a reader never sees a partial jar, and the
        # temporary name does not end in ".jar", so MMS's "<plugins_path>/*" ignores it.
        partial = "{}.{}.partial".format(target, os.getpid())
        shutil.copyfile(staging, partial)
        os.replace(partial, target)
    return target


def compile_java(javac: str, server_jar: str, java_files: Sequence[str], classes: str) -> None:
    """Run javac for Java 11 bytecode; BuildError with javac's first lines when it fails."""
    command = [
        javac,
        # A short-lived compiler JVM starts about twice as fast with these.
        "-J-XX:TieredStopAtLevel=1",
        "-J-XX:+UseSerialGC",
        "--release",
        plugin.JAVA_RELEASE,
        "-proc:none",
        "-nowarn",
        "-encoding",
        "UTF-8",
        "-cp",
        server_jar,
        "-d",
        classes,
        *java_files,
    ]
    try:
        result = subprocess.run(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=JAVAC_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BuildError("could not run {}: {}".format(javac, exc)) from exc
    if result.returncode != 0:
        output = result.stdout.decode("utf-8", "replace")
        lines = [line for line in output.splitlines() if line.strip()]
        raise BuildError("javac failed: " + (" | ".join(lines[:3]) or "no output"))


def write_jar(jar_path: str, classes: str, resources: Sequence[str], digest: str) -> None:
    """Zip the class tree and resources with a manifest recording ``digest``."""
    manifest = (
        "Manifest-Version: 1.0\r\n"
        "Created-By: sagemaker-inference\r\n"
        "{}: {}\r\n"
        "\r\n".format(plugin.DIGEST_ATTRIBUTE, digest)
    )
    entries = []
    for directory, _dirs, files in os.walk(classes):
        for name in files:
            path = os.path.join(directory, name)
            entries.append((os.path.relpath(path, classes).replace(os.sep, "/"), path))
    for path in resources:
        entries.append((os.path.relpath(path, plugin.JAVA_SOURCE_DIR).replace(os.sep, "/"), path))
    with zipfile.ZipFile(jar_path, "w", zipfile.ZIP_DEFLATED) as jar:
        _add(jar, "META-INF/MANIFEST.MF", manifest.encode("utf-8"))
        for name, path in sorted(entries):
            with open(path, "rb") as handle:
                _add(jar, name, handle.read())


def _add(jar: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    jar.writestr(info, data)

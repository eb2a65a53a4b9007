"""Builds this project's Multi Model Server endpoint plugin from the Java source shipped beside it.

The plugin (Java source in ``java-src/``, a name Python cannot import, so setuptools ships it as
plain package data) replaces MMS's ``GET /ping`` with a truthful readiness check and adds
``GET /execution-parameters`` for batch transform. MMS finds it with Java's ServiceLoader once
the directory returned by :func:`ensure_plugin` is written as ``plugins_path`` in its properties
file (MMS then puts ``<plugins_path>/*`` on the class path).

The jar is compiled with ``javac`` against MMS's own ``model-server.jar`` and cached under a key
made of the Java sources, the MMS version and this build's flags, so repeated starts reuse it.
Without a JDK the server still runs, with MMS's built-in ``/ping`` (always 200) and no
``/execution-parameters``. Containers can build the jar at image build time with
``python -m sagemaker_inference.plugin [CACHE_DIR]`` (the same cache directory the server will
use at start) and drop the JDK afterwards.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from typing import List, Optional, Sequence

logger = logging.getLogger("sagemaker-inference.plugin")

JAVA_SOURCE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "java-src")
PLUGIN_JAR_NAME = "sagemaker-inference-mms-plugin.jar"
CACHE_DIR_ENV = "SAGEMAKER_MMS_PLUGIN_CACHE_DIR"
JDK_HINT = (
    "install a JDK (for example `apt-get install openjdk-17-jdk-headless`, or set JAVA_HOME to "
    "a JDK) or prebuild the plugin with `python -m sagemaker_inference.plugin`"
)
LOST_FEATURES = (
    "GET /ping falls back to MMS's built-in answer (200 even while the model loads or after it "
    "failed) and GET /execution-parameters is not served"
)

# Bump when the way the jar is built changes, so older cached jars are not reused.
_BUILD_FORMAT = "1"
# Class files readable by any Java 8+ runtime, whichever JDK compiles them; the later entries
# serve JDKs that dropped a target (JDK 8's javac has no --release; a future one may drop 8).
_TARGET_FLAGS: Sequence[Sequence[str]] = (
    ("--release", "8"),
    ("-source", "1.8", "-target", "1.8"),
    ("--release", "11"),
)
_JAVAC_TIMEOUT_SECONDS = 300


def ensure_plugin(cache_dir: Optional[str] = None) -> Optional[str]:
    """Return a directory holding only the plugin jar (the value for ``plugins_path``).

    ``cache_dir`` is the cache root; the jar lives in ``<cache_dir>/<key>/``. Default: the
    ``SAGEMAKER_MMS_PLUGIN_CACHE_DIR`` variable, else ``$XDG_CACHE_HOME`` (or ``~/.cache``)
    ``/sagemaker-inference/mms-plugin``, else the system temp dir. A cached jar is returned
    without running ``javac``. Returns None, after one WARNING that says what is lost and how
    to fix it, when MMS, the Java source or ``javac`` is missing or compilation fails; never
    raises for those.
    """
    server_jar = model_server_jar()
    if server_jar is None:
        _warn("Multi Model Server's model-server.jar was not found", "install multi-model-server")
        return None
    sources = _source_files()
    if not any(path.endswith(".java") for path in sources):
        _warn("the plugin's Java source is missing from this installation", "reinstall the package")
        return None

    key = cache_key(sources, server_jar)
    try:
        root = _cache_root(cache_dir)
    except OSError as exc:
        _warn("no writable cache directory for the plugin jar ({})".format(exc), JDK_HINT)
        return None
    target_dir = os.path.join(root, key)
    if os.path.isfile(os.path.join(target_dir, PLUGIN_JAR_NAME)):
        logger.debug("MMS plugin found in cache: %s", target_dir)
        return target_dir

    javac = find_javac()
    if javac is None:
        _warn("javac (a Java compiler) was not found", JDK_HINT)
        return None

    started = time.monotonic()
    try:
        _build(javac, server_jar, sources, target_dir)
    except _BuildError as exc:
        _warn("compiling the plugin failed: {}".format(exc), JDK_HINT)
        return None
    except OSError as exc:
        _warn(
            "writing the plugin jar failed: {}".format(exc),
            "check that {} is writable".format(root),
        )
        return None
    logger.info("Built MMS plugin in %.1f s: %s", time.monotonic() - started, target_dir)
    return target_dir


def model_server_jar() -> Optional[str]:
    """Path of MMS's ``model-server.jar`` (the SDK interfaces the plugin compiles against)."""
    spec = importlib.util.find_spec("mms")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = os.path.join(location, "frontend", "model-server.jar")
        if os.path.isfile(candidate):
            return candidate
    return None


def mms_version() -> str:
    """Installed multi-model-server version, or "unknown"."""
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover - Python < 3.8
        return "unknown"
    try:
        return version("multi-model-server")
    except PackageNotFoundError:
        return "unknown"


def find_javac() -> Optional[str]:
    """``$JAVA_HOME/bin/javac`` when present (MMS runs ``$JAVA_HOME/bin/java``), else PATH's."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = os.path.join(java_home, "bin", "javac")
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("javac")


def cache_key(sources: Sequence[str], server_jar: str) -> str:
    """Hex digest over the plugin's source files, the MMS version and the build flags."""
    mms = mms_version()
    digest = hashlib.sha256()
    digest.update("format={}\n".format(_BUILD_FORMAT).encode())
    digest.update("mms={}\n".format(mms).encode())
    digest.update("mms-jar-size={}\n".format(os.path.getsize(server_jar)).encode())
    for path in sources:
        relative = os.path.relpath(path, JAVA_SOURCE_DIR).replace(os.sep, "/")
        digest.update("file={}\n".format(relative).encode())
        with open(path, "rb") as handle:
            digest.update(handle.read())
        digest.update(b"\n")
    return "mms-{}-{}".format(mms, digest.hexdigest()[:20])


class _BuildError(Exception):
    pass


def _source_files() -> List[str]:
    found = []
    for directory, _dirs, files in os.walk(JAVA_SOURCE_DIR):
        for name in files:
            if name.endswith(".java") or "META-INF" in directory.split(os.sep):
                found.append(os.path.join(directory, name))
    return sorted(found)


def _cache_root(cache_dir: Optional[str]) -> str:
    candidates = []
    if cache_dir:
        candidates.append(cache_dir)
    else:
        if os.environ.get(CACHE_DIR_ENV):
            candidates.append(os.environ[CACHE_DIR_ENV])
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        candidates.append(os.path.join(xdg, "sagemaker-inference", "mms-plugin"))
        candidates.append(os.path.join(tempfile.gettempdir(), "sagemaker-inference-mms-plugin"))
    error: Optional[OSError] = None
    for candidate in candidates:
        try:
            os.makedirs(candidate, exist_ok=True)
            if os.access(candidate, os.W_OK | os.X_OK):
                return candidate
            error = PermissionError("{} is not writable".format(candidate))
        except OSError as exc:
            error = exc
    assert error is not None
    raise error


def _build(javac: str, server_jar: str, sources: Sequence[str], target_dir: str) -> None:
    java_files = [path for path in sources if path.endswith(".java")]
    resources = [path for path in sources if not path.endswith(".java")]
    with tempfile.TemporaryDirectory(prefix="sagemaker-mms-plugin-") as work:
        classes = os.path.join(work, "classes")
        _compile(javac, server_jar, java_files, classes)
        jar_tmp = os.path.join(work, PLUGIN_JAR_NAME)
        _write_jar(jar_tmp, classes, resources)
        os.makedirs(target_dir, exist_ok=True)
        # Copy beside the target, then rename: concurrent starts never see a partial jar, and
        # the temporary name does not end in ".jar", so MMS's "<plugins_path>/*" ignores it.
        staging = os.path.join(target_dir, ".{}.{}.tmp".format(PLUGIN_JAR_NAME, os.getpid()))
        shutil.copyfile(jar_tmp, staging)
        os.replace(staging, os.path.join(target_dir, PLUGIN_JAR_NAME))


def _compile(javac: str, server_jar: str, java_files: Sequence[str], classes: str) -> None:
    base = [
        javac,
        # A short-lived compiler JVM starts about twice as fast with these.
        "-J-XX:TieredStopAtLevel=1",
        "-J-XX:+UseSerialGC",
        "-proc:none",
        "-nowarn",
        "-Xlint:-options",
        "-encoding",
        "UTF-8",
        "-cp",
        server_jar,
        "-d",
        classes,
    ]
    failures = []
    for flags in _TARGET_FLAGS:
        shutil.rmtree(classes, ignore_errors=True)
        os.makedirs(classes)
        command = base + list(flags) + list(java_files)
        try:
            result = subprocess.run(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=_JAVAC_TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise _BuildError("could not run {}: {}".format(javac, exc)) from exc
        if result.returncode == 0:
            return
        output = result.stdout.decode("utf-8", "replace").strip()
        failures.append("{} -> {}".format(" ".join(flags), _first_lines(output)))
    raise _BuildError("; ".join(failures))


def _write_jar(jar_path: str, classes: str, resources: Sequence[str]) -> None:
    with zipfile.ZipFile(jar_path, "w", zipfile.ZIP_DEFLATED) as jar:
        jar.writestr(
            "META-INF/MANIFEST.MF",
            "Manifest-Version: 1.0\r\nCreated-By: sagemaker-inference\r\n\r\n",
        )
        for directory, _dirs, files in os.walk(classes):
            for name in sorted(files):
                path = os.path.join(directory, name)
                jar.write(path, os.path.relpath(path, classes).replace(os.sep, "/"))
        for path in resources:
            jar.write(path, os.path.relpath(path, JAVA_SOURCE_DIR).replace(os.sep, "/"))


def _first_lines(text: str, limit: int = 3) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    summary = " | ".join(lines[:limit])
    return summary if summary else "no output"


def _warn(problem: str, fix: str) -> None:
    logger.warning("MMS plugin unavailable: %s. Lost: %s. Fix: %s.", problem, LOST_FEATURES, fix)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m sagemaker_inference.plugin [CACHE_DIR]``: build now, print the directory."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 or any(arg.startswith("-") for arg in args):
        print("usage: python -m sagemaker_inference.plugin [CACHE_DIR]", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    directory = ensure_plugin(args[0] if args else None)
    if directory is None:
        return 1
    print(directory)
    return 0

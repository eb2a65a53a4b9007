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

A second jar, compiled and cached on its own from ``java-src/com/`` (the plugin jar leaves that
directory out), is what :func:`ensure_patches` returns and what the ``python -m`` command above
builds too. It holds classes named like MMS's own that fix MMS bugs (today
``com.amazonaws.ml.mms.util.codec.ModelResponseDecoder``, which killed a worker whose answer
arrived split across socket reads). They only win when the jar comes BEFORE model-server.jar on
java's ``-cp``, which ``plugins_path`` cannot do (MMS appends it), so the server's own java
command line puts it first. Without it MMS's classes are used, after one WARNING.
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
from typing import Callable, List, NamedTuple, Optional, Sequence

logger = logging.getLogger("sagemaker-inference.plugin")

JAVA_SOURCE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "java-src")
# Under JAVA_SOURCE_DIR: replacements for MMS classes (same names), built into their own jar.
PATCH_SOURCE_SUBDIR = "com"
PLUGIN_JAR_NAME = "sagemaker-inference-mms-plugin.jar"
PATCHES_JAR_NAME = "sagemaker-inference-mms-patches.jar"
PATCHES_KEY_PREFIX = "patches-"
# The MMS versions whose worker frame layout the patched decoder was written against.
PATCHED_MMS_SERIES = ("1.1.",)
# Classes the patches replace; the build checks model-server.jar still has them.
PATCHED_CLASSES = (
    "com/amazonaws/ml/mms/util/codec/ModelResponseDecoder.class",
    "com/amazonaws/ml/mms/ServerInitializer.class",
)
CACHE_DIR_ENV = "SAGEMAKER_MMS_PLUGIN_CACHE_DIR"
JDK_HINT = (
    "install a JDK (for example `apt-get install openjdk-17-jdk-headless`, or set JAVA_HOME to "
    "a JDK) or prebuild the plugin with `python -m sagemaker_inference.plugin`"
)
LOST_FEATURES = (
    "GET /ping falls back to MMS's built-in answer (200 even while the model loads or after it "
    "failed) and GET /execution-parameters is not served"
)
PATCHES_LOST = (
    "MMS's own response decoder is used, which kills a Python worker (the request gets 500 "
    '"Worker died.") whenever its answer arrives split across socket reads'
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
    jar = _ensure_jar(_PLUGIN, cache_dir)
    return os.path.dirname(jar) if jar else None


def ensure_patches(cache_dir: Optional[str] = None) -> Optional[str]:
    """Path of the jar of MMS class replacements, to put BEFORE model-server.jar on ``-cp``.

    Cached like the plugin (same cache root, its own ``patches-<key>/`` directory, keyed by the
    patch sources and the MMS version). Returns None after one WARNING (MMS's own classes are
    then used) when MMS is not a version the patches were written for, or when the jar cannot
    be built; never raises for those.
    """
    version = mms_version()
    if not version.startswith(PATCHED_MMS_SERIES):
        _warn(
            _PATCHES,
            "they were written for MMS {}x and MMS {} is installed".format(
                "x, ".join(PATCHED_MMS_SERIES), version
            ),
            "use multi-model-server 1.1.11",
        )
        return None
    return _ensure_jar(_PATCHES, cache_dir)


class _Artifact(NamedTuple):
    label: str  # as in "MMS <label> unavailable"
    jar_name: str
    key_prefix: str
    lost: str
    sources: Callable[[], List[str]]
    required_classes: Sequence[str]


def _ensure_jar(artifact: _Artifact, cache_dir: Optional[str]) -> Optional[str]:
    server_jar = model_server_jar()
    if server_jar is None:
        _warn(
            artifact,
            "Multi Model Server's model-server.jar was not found",
            "install multi-model-server",
        )
        return None
    sources = artifact.sources()
    if not any(path.endswith(".java") for path in sources):
        _warn(
            artifact,
            "the {}'s Java source is missing from this installation".format(artifact.label),
            "reinstall the package",
        )
        return None

    key = artifact.key_prefix + cache_key(sources, server_jar)
    try:
        root = _cache_root(cache_dir)
    except OSError as exc:
        _warn(
            artifact,
            "no writable cache directory for the {} jar ({})".format(artifact.label, exc),
            JDK_HINT,
        )
        return None
    jar = os.path.join(root, key, artifact.jar_name)
    if os.path.isfile(jar):
        logger.debug("MMS %s found in cache: %s", artifact.label, jar)
        return jar

    missing = _missing_classes(server_jar, artifact.required_classes)
    if missing:
        _warn(
            artifact,
            "{} has no {}, so this MMS is not the one it was written for".format(
                server_jar, ", ".join(missing)
            ),
            "use multi-model-server 1.1.11",
        )
        return None
    javac = find_javac()
    if javac is None:
        _warn(artifact, "javac (a Java compiler) was not found", JDK_HINT)
        return None

    started = time.monotonic()
    try:
        _build(javac, server_jar, sources, os.path.dirname(jar), artifact.jar_name)
    except _BuildError as exc:
        _warn(artifact, "compiling the {} failed: {}".format(artifact.label, exc), JDK_HINT)
        return None
    except OSError as exc:
        _warn(
            artifact,
            "writing the {} jar failed: {}".format(artifact.label, exc),
            "check that {} is writable".format(root),
        )
        return None
    logger.info("Built MMS %s in %.1f s: %s", artifact.label, time.monotonic() - started, jar)
    return jar


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
    """The plugin's files: Java sources and META-INF resources, without the MMS patches."""
    found = []
    patches = os.path.join(JAVA_SOURCE_DIR, PATCH_SOURCE_SUBDIR)
    for directory, _dirs, files in os.walk(JAVA_SOURCE_DIR):
        if directory == patches or directory.startswith(patches + os.sep):
            continue
        for name in files:
            if name.endswith(".java") or "META-INF" in directory.split(os.sep):
                found.append(os.path.join(directory, name))
    return sorted(found)


def _patch_source_files() -> List[str]:
    found = []
    for directory, _dirs, files in os.walk(os.path.join(JAVA_SOURCE_DIR, PATCH_SOURCE_SUBDIR)):
        found.extend(os.path.join(directory, name) for name in files if name.endswith(".java"))
    return sorted(found)


def _missing_classes(server_jar: str, names: Sequence[str]) -> List[str]:
    if not names:
        return []
    try:
        with zipfile.ZipFile(server_jar) as jar:
            present = set(jar.namelist())
    except (OSError, zipfile.BadZipFile):
        return list(names)
    return [name for name in names if name not in present]


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


def _build(
    javac: str, server_jar: str, sources: Sequence[str], target_dir: str, jar_name: str
) -> None:
    java_files = [path for path in sources if path.endswith(".java")]
    resources = [path for path in sources if not path.endswith(".java")]
    with tempfile.TemporaryDirectory(prefix="sagemaker-mms-plugin-") as work:
        classes = os.path.join(work, "classes")
        _compile(javac, server_jar, java_files, classes)
        jar_tmp = os.path.join(work, jar_name)
        _write_jar(jar_tmp, classes, resources)
        os.makedirs(target_dir, exist_ok=True)
        # Copy beside the target, then rename: concurrent starts never see a partial jar, and
        # the temporary name does not end in ".jar", so MMS's "<plugins_path>/*" ignores it.
        staging = os.path.join(target_dir, ".{}.{}.tmp".format(jar_name, os.getpid()))
        shutil.copyfile(jar_tmp, staging)
        os.replace(staging, os.path.join(target_dir, jar_name))


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


def _warn(artifact: _Artifact, problem: str, fix: str) -> None:
    logger.warning(
        "MMS %s unavailable: %s. Lost: %s. Fix: %s.", artifact.label, problem, artifact.lost, fix
    )


# The source lists are looked up at call time, so tests can point JAVA_SOURCE_DIR elsewhere.
_PLUGIN = _Artifact("plugin", PLUGIN_JAR_NAME, "", LOST_FEATURES, lambda: _source_files(), ())
_PATCHES = _Artifact(
    "decoder patch",
    PATCHES_JAR_NAME,
    PATCHES_KEY_PREFIX,
    PATCHES_LOST,
    lambda: _patch_source_files(),
    PATCHED_CLASSES,
)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m sagemaker_inference.plugin [CACHE_DIR]``: build both jars now.

    Prints the plugin directory, then the patches jar; exits 1 when either could not be built.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 or any(arg.startswith("-") for arg in args):
        print("usage: python -m sagemaker_inference.plugin [CACHE_DIR]", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    cache_dir = args[0] if args else None
    directory = ensure_plugin(cache_dir)
    patches = ensure_patches(cache_dir)
    for built in (directory, patches):
        if built is not None:
            print(built)
    return 0 if directory is not None and patches is not None else 1

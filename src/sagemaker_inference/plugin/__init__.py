"""Find the prebuilt Java jars that make MMS truthful and robust, and check they are current.

Two jars ship inside this package, built from the Java source beside them (``java-src/``):

* the endpoint plugin (``lib/plugin/``): replaces MMS's ``GET /ping`` with a readiness check and
  adds ``GET /execution-parameters``. Its directory is what MMS's ``plugins_path`` names (MMS
  puts ``<plugins_path>/*`` on the class path and finds the endpoints with ServiceLoader), so
  that directory holds this one jar only;
* the MMS class patches (``lib/patches/``): classes named like MMS's own that fix MMS bugs
  (``com.amazonaws.ml.mms.util.codec.ModelResponseDecoder``, which killed a worker whose
  answer arrived split across socket reads, and ``com.amazonaws.ml.mms.ServerInitializer``,
  whose pipeline gains the request guards of ``com.amazonaws.ml.mms.sagemaker``). They only win
  when the jar comes BEFORE ``model-server.jar`` on java's ``-cp``, which the server's own java
  command line does.

Nothing here runs ``javac``: a Java runtime is all a container needs. Each jar records, in its
manifest, a digest of the exact source files and build settings it was made from; a jar is
used only when that digest equals the digest of the source installed beside it. A jar that
does not match (stale, foreign or unreadable) is refused with one WARNING that says what is
lost and how to fix it, and the server runs without it. ``python -m sagemaker_inference.plugin
build`` rebuilds both jars from source with a JDK (see :mod:`sagemaker_inference.plugin.build`);
``... check`` verifies them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import zipfile
from typing import List, NamedTuple, Optional, Sequence

from sagemaker_inference import parameters
from sagemaker_inference.environment import or_current

logger = logging.getLogger("sagemaker-inference.plugin")

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
JAVA_SOURCE_DIR = os.path.join(PACKAGE_DIR, "java-src")
LIB_DIR = os.path.join(PACKAGE_DIR, "lib")
# Under JAVA_SOURCE_DIR: replacements for MMS classes (same names), built into their own jar.
PATCH_SOURCE_SUBDIR = "com"
PLUGIN_JAR_NAME = "sagemaker-inference-mms-plugin.jar"
PATCHES_JAR_NAME = "sagemaker-inference-mms-patches.jar"
# The MMS versions whose worker frame layout the patched decoder was written against.
PATCHED_MMS_SERIES = ("1.1.",)
# Classes the patches replace; they are used only when model-server.jar still has them.
PATCHED_CLASSES = (
    "com/amazonaws/ml/mms/util/codec/ModelResponseDecoder.class",
    "com/amazonaws/ml/mms/ServerInitializer.class",
)
# Where ``build --cache-dir`` puts jars and where the server looks when the shipped ones do not
# match their source (a container that edits the Java source and rebuilds at image build time).
CACHE_DIR_ENV = parameters.PLUGIN_CACHE_DIR_ENV
# Class files for Java 11, the oldest runtime MMS 1.1 supports: any Java 11+ runtime loads them.
JAVA_RELEASE = "11"
DIGEST_ATTRIBUTE = "SageMaker-Inference-Source-Digest"
# Bump when the way a jar is built changes, so jars built the old way no longer match.
BUILD_FORMAT = "2"

REBUILD_HINT = (
    "reinstall sagemaker-inference, or rebuild the jars with a JDK: "
    "`python -m sagemaker_inference.plugin build`"
)
LOST_FEATURES = (
    "GET /ping falls back to MMS's built-in answer (200 even while the model loads or after it "
    "failed) and GET /execution-parameters is not served"
)
PATCHES_LOST = (
    "MMS's own front-end classes are used: its response decoder kills a Python worker (500 "
    '"Worker died.") whenever an answer arrives split across socket reads, and the request '
    "guards, draining on SIGTERM, keep-alive limits and worker recycling are off"
)


class Artifact(NamedTuple):
    """One jar: what it is called, where it ships and which source files it is built from."""

    label: str  # as in "MMS <label> unavailable"
    jar_name: str
    subdir: str  # its directory under LIB_DIR (and under a cache root)
    lost: str
    required_classes: Sequence[str]

    def sources(self) -> List[str]:
        """The source files (Java and resources) under JAVA_SOURCE_DIR, sorted."""
        patches = os.path.join(JAVA_SOURCE_DIR, PATCH_SOURCE_SUBDIR)
        found = []
        for directory, _dirs, files in os.walk(JAVA_SOURCE_DIR):
            in_patches = directory == patches or directory.startswith(patches + os.sep)
            if in_patches != (self.subdir == "patches"):
                continue
            for name in files:
                if name.endswith(".java") or "META-INF" in directory.split(os.sep):
                    found.append(os.path.join(directory, name))
        return sorted(found)

    def shipped_jar(self) -> str:
        return os.path.join(LIB_DIR, self.subdir, self.jar_name)

    def cached_jar(self, cache_root: str, digest: str) -> str:
        return os.path.join(cache_root, "{}-{}".format(self.subdir, digest[:20]), self.jar_name)


PLUGIN = Artifact("plugin", PLUGIN_JAR_NAME, "plugin", LOST_FEATURES, ())
PATCHES = Artifact("front-end patches", PATCHES_JAR_NAME, "patches", PATCHES_LOST, PATCHED_CLASSES)
ARTIFACTS = (PLUGIN, PATCHES)


def ensure_plugin(cache_dir: Optional[str] = None) -> Optional[str]:
    """Directory holding only the verified plugin jar (the value for ``plugins_path``), or None
    after one WARNING that says what is lost and how to fix it. Never raises, never compiles."""
    jar = find_jar(PLUGIN, cache_dir)
    return os.path.dirname(jar) if jar else None


def ensure_patches(cache_dir: Optional[str] = None) -> Optional[str]:
    """Path of the verified jar of MMS class replacements, for the front of java's ``-cp``.

    None after one WARNING (MMS's own classes are then used) when the installed MMS is not one
    the patches were written for or no jar matches the patch source. Never raises.
    """
    version = mms_version()
    if not version.startswith(PATCHED_MMS_SERIES):
        _warn(
            PATCHES,
            "they were written for MMS {}x and MMS {} is installed".format(
                "x, ".join(PATCHED_MMS_SERIES), version
            ),
            "use multi-model-server 1.1.11",
        )
        return None
    server_jar = model_server_jar()
    missing = missing_classes(server_jar, PATCHED_CLASSES) if server_jar else []
    if missing:
        _warn(
            PATCHES,
            "{} has no {}, so this MMS is not the one they were written for".format(
                server_jar, ", ".join(missing)
            ),
            "use multi-model-server 1.1.11",
        )
        return None
    return find_jar(PATCHES, cache_dir)


def find_jar(artifact: Artifact, cache_dir: Optional[str] = None) -> Optional[str]:
    """The shipped jar of ``artifact`` when it was built from the installed source, else one in
    the cache root (``cache_dir`` or SAGEMAKER_MMS_PLUGIN_CACHE_DIR) that was; else None."""
    sources = artifact.sources()
    if not any(path.endswith(".java") for path in sources):
        _warn(
            artifact,
            "the {}'s Java source is missing from this installation, so no jar can be "
            "checked against it".format(artifact.label),
            "reinstall sagemaker-inference",
        )
        return None
    digest = source_digest(sources)
    candidates = [artifact.shipped_jar()]
    cache_root = cache_dir or or_current(None).plugin_cache_dir
    if cache_root:
        candidates.append(artifact.cached_jar(cache_root, digest))
    found = []
    for jar in candidates:
        recorded = recorded_digest(jar)
        if recorded == digest:
            logger.debug("MMS %s: %s", artifact.label, jar)
            return jar
        if os.path.exists(jar):
            found.append("{} records {}".format(jar, recorded or "no readable digest"))
    problem = "no jar was built from the installed source (digest {})".format(digest[:12])
    if found:
        problem += "; " + "; ".join(found)
    _warn(artifact, problem, REBUILD_HINT)
    return None


def source_digest(sources: Sequence[str]) -> str:
    """Hex SHA-256 over the build settings and every source file's relative path and bytes."""
    digest = hashlib.sha256()
    digest.update("format={}\nrelease={}\n".format(BUILD_FORMAT, JAVA_RELEASE).encode())
    for path in sources:
        relative = os.path.relpath(path, JAVA_SOURCE_DIR).replace(os.sep, "/")
        with open(path, "rb") as handle:
            content = handle.read()
        digest.update("file={} {}\n".format(relative, len(content)).encode())
        digest.update(content)
    return digest.hexdigest()


def recorded_digest(jar: str) -> Optional[str]:
    """The source digest written into ``jar``'s manifest, or None (no file, not a jar, none)."""
    try:
        with zipfile.ZipFile(jar) as archive:
            manifest = archive.read("META-INF/MANIFEST.MF").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return None
    prefix = DIGEST_ATTRIBUTE + ":"
    for line in manifest.splitlines():
        if line.startswith(prefix):
            return line[len(prefix) :].strip() or None
    return None


def model_server_jar() -> Optional[str]:
    """Path of MMS's ``model-server.jar``, or None when MMS is not installed."""
    spec = importlib.util.find_spec("mms")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = os.path.join(location, "frontend", "model-server.jar")
        if os.path.isfile(candidate):
            return candidate
    return None


def mms_version() -> str:
    """Installed multi-model-server version, or "unknown".

    MMS's own ``mms.version`` module first: importing ``importlib.metadata`` to ask the
    distribution costs a server start about 15 ms; the distribution is asked only when that
    module is missing.
    """
    try:
        from mms.version import __version__

        return str(__version__)
    except ImportError:
        pass
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("multi-model-server")
    except PackageNotFoundError:
        return "unknown"


def missing_classes(server_jar: str, names: Sequence[str]) -> List[str]:
    """Which of ``names`` (class file paths) ``server_jar`` lacks; all of them if unreadable."""
    if not names:
        return []
    try:
        with zipfile.ZipFile(server_jar) as jar:
            present = set(jar.namelist())
    except (OSError, zipfile.BadZipFile):
        return list(names)
    return [name for name in names if name not in present]


def _warn(artifact: Artifact, problem: str, fix: str) -> None:
    logger.warning(
        "MMS %s unavailable: %s. Lost: %s. Fix: %s.", artifact.label, problem, artifact.lost, fix
    )

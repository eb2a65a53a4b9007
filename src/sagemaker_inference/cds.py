"""A class-data-sharing (AppCDS) archive of MMS's Java classes, made once at image build.

Most of a cold start is the JVM loading and verifying MMS's classes. A JDK 11+ dynamic CDS
archive holds them pre-parsed; the JVM maps it instead of reading the jars. In a Dockerfile::

    RUN python -m sagemaker_inference.cds /opt/sagemaker-mms.jsa
    ENV SAGEMAKER_MMS_CDS_ARCHIVE=/opt/sagemaker-mms.jsa

The build serves a throw-away model once through this library's own server with
``-XX:ArchiveClassesAtExit`` and writes, beside the archive, a key naming the java binary and
every jar of the class path (path, size, modification time). At start the archive is passed to
the JVM (``-XX:SharedArchiveFile``, ``-Xshare:auto``) only when SAGEMAKER_MMS_CDS_ARCHIVE is
set and that key still matches; otherwise the server starts as before, with a log line saying
why. The archive is never built on the start path (a SageMaker container's caches are empty at
every start), and with ``-Xshare:auto`` a JVM that rejects it anyway starts without it.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

from sagemaker_inference import java_runtime, mms_config, parameters
from sagemaker_inference.environment import Environment, or_current
from sagemaker_inference.logging import get_logger

CDS_ARCHIVE_ENV = parameters.CDS_ARCHIVE_ENV
KEY_SUFFIX = ".key"
_BUILD_MODEL = """
def model_fn(model_dir):
    return None


def predict_fn(data, model):
    return data
"""

logger = get_logger()


def _class_path_files(class_path: str) -> List[str]:
    """The files a java -cp value names, wildcards expanded as the java launcher does."""
    files: List[str] = []
    for entry in class_path.split(os.pathsep):
        if entry.endswith("*"):
            files += sorted(glob.glob(entry[:-1] + "*.jar") + glob.glob(entry[:-1] + "*.JAR"))
        elif entry:
            files.append(entry)
    return files


def archive_key(java: str, class_path: str) -> str:
    """Digest of what the archive depends on: the java binary and the class path's jars."""
    parts = []
    for path in [java] + _class_path_files(class_path):
        real = os.path.realpath(path)
        try:
            info = os.stat(real)
            parts.append([real, info.st_size, info.st_mtime_ns])
        except OSError:
            parts.append([real, None, None])
    return hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()


def start_args(java: str, class_path: str, env: Optional[Environment] = None) -> List[str]:
    """JVM arguments that use the archive named by SAGEMAKER_MMS_CDS_ARCHIVE, or [] when it is
    unset, missing or was made for another JVM or other jars (logged; the start goes on)."""
    archive = or_current(env).cds_archive
    if not archive:
        return []
    try:
        with open(archive + KEY_SUFFIX, encoding="utf-8") as handle:
            key = handle.read().strip()
        present = os.path.isfile(archive)
    except OSError:
        key, present = "", False
    if not present or not key:
        logger.warning(
            "%s=%s: no archive or key there; starting without class-data sharing",
            CDS_ARCHIVE_ENV,
            archive,
        )
        return []
    if key != archive_key(java, class_path):
        logger.warning(
            "%s=%s was made for another java or other jars; starting without it (rebuild it "
            "with python -m sagemaker_inference.cds %s)",
            CDS_ARCHIVE_ENV,
            archive,
            archive,
        )
        return []
    return ["-XX:SharedArchiveFile={}".format(archive), "-Xshare:auto"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    if port <= 32767:  # MMS refuses ports above 32767
        return port
    for candidate in range(20000, 32000, 7):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return candidate
    raise RuntimeError("no free port below 32768 for the archive build")


def _predicted(port: int) -> bool:
    # Imported here, at archive build only: urllib.request (http.client, email, ssl) would add
    # about 25 ms to every server start, which imports this module.
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        "http://127.0.0.1:{}/invocations".format(port),
        data=b"[[1.0, 2.0]]",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _serve_once(model_dir: str, env: Dict[str, str], log_path: str, timeout: float) -> None:
    """Serve ``model_dir`` with ``env`` until one prediction succeeds, then stop the server
    (SIGTERM, so the JVM writes its archive). The log's tail goes to stderr on failure."""
    port = _free_port()
    cmd = [sys.executable, "-m", "sagemaker_inference", "serve"]
    cmd += ["--model-dir", model_dir, "--port", str(port), "--workers", "1"]
    with open(log_path, "wb") as log:
        server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while not _predicted(port):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the archive build's server did not serve")
                time.sleep(0.2)
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=timeout)
        except BaseException:
            with open(log_path, "rb") as handle:
                sys.stderr.write(handle.read()[-4000:].decode("utf-8", "replace"))
            raise
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()


def build(archive: str, timeout: float = 300.0) -> str:
    """Serve a throw-away model once with -XX:ArchiveClassesAtExit, then write ``archive`` and
    its key. Raises RuntimeError when the server does not serve or the JVM wrote no archive."""
    archive = os.path.abspath(archive)
    settings = Environment()
    java = java_runtime.find_java(settings)
    class_path = java_runtime.class_path(
        mms_config.plugins_path(settings), mms_config.patches_path(settings)
    )
    with tempfile.TemporaryDirectory(prefix="smi-cds-") as work:
        code_dir = os.path.join(work, "model", "code")
        os.makedirs(code_dir)
        with open(os.path.join(code_dir, "inference.py"), "w", encoding="utf-8") as handle:
            handle.write(_BUILD_MODEL)
        partial = os.path.join(work, "classes.jsa")
        env = dict(os.environ)
        env.pop(CDS_ARCHIVE_ENV, None)
        vmargs = settings.vmargs + " -XX:ArchiveClassesAtExit=" + partial
        env[parameters.MODEL_SERVER_VMARGS] = vmargs
        _serve_once(os.path.join(work, "model"), env, os.path.join(work, "serve.log"), timeout)
        if not os.path.isfile(partial):
            raise RuntimeError(
                "the JVM wrote no class-data archive ({} needs JDK 13+)".format(java)
            )
        os.makedirs(os.path.dirname(archive), exist_ok=True)
        shutil.move(partial, archive)
    with open(archive + KEY_SUFFIX, "w", encoding="utf-8") as handle:
        handle.write(archive_key(java, class_path) + "\n")
    return archive


def main(argv: Optional[List[str]] = None) -> int:
    """``python -m sagemaker_inference.cds ARCHIVE``: build the archive (at image build)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0].startswith("-"):
        sys.stderr.write("usage: python -m sagemaker_inference.cds ARCHIVE\n")
        return 2
    path = build(args[0])
    print("wrote {} (set {}={} to use it)".format(path, CDS_ARCHIVE_ENV, path))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where the benchmark keeps things, what it sends, how long it measures, and its log."""

import datetime
import json
import os
import subprocess
import urllib.error
import urllib.request
from dataclasses import astuple, dataclass
from typing import Dict, Mapping, Optional, Tuple

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # benchmarks/
REPO = os.path.dirname(HERE)
WORK = os.path.join(HERE, ".work")
RESULTS_MD = os.path.join(HERE, "RESULTS.md")
RESULTS_JSON = os.path.join(WORK, "results.json")
OLD_VENV = os.path.join(WORK, "venv-1.10.1")
PROJECT_VENV = os.path.join(WORK, "venv-project")
MODEL_BASE = os.path.join(WORK, "opt_ml")
MODEL_DIR = os.path.join(MODEL_BASE, "model")
BODY_DIR = os.path.join(WORK, "bodies")
CDS_ARCHIVE = os.path.join(WORK, "mms-classes.jsa")
OLD_REQUIREMENTS = ["sagemaker-inference==1.10.1", "multi-model-server==1.1.11"]
WRK_CONNECTIONS = 4
SLOW_FEATURES = 24  # benchmarks/model_code/inference.py burns 2 ms of CPU for this width


@dataclass(frozen=True)
class Body:
    """A request body file under BODY_DIR and the headers it is sent with."""

    filename: str
    content_type: str
    accept: str
    rows: int
    columns: int

    @property
    def path(self) -> str:
        return os.path.join(BODY_DIR, self.filename)

    def read(self) -> bytes:
        with open(self.path, "rb") as handle:
            return handle.read()

    def as_list(self) -> list:
        return list(astuple(self))


BODIES: Dict[str, Body] = {
    "JSON 1x16": Body("json_1x16.json", "application/json", "application/json", 1, 16),
    "CSV 100x16": Body("csv_100x16.csv", "text/csv", "text/csv", 100, 16),
    "NPY 1000x32": Body("npy_1000x32.npy", "application/x-npy", "application/x-npy", 1000, 32),
    "JSON 1x24, 2 ms predict": Body(
        "json_1x24.json", "application/json", "application/json", 1, SLOW_FEATURES
    ),
}
FAST_BODIES = ["JSON 1x16", "CSV 100x16", "NPY 1000x32"]
SLOW_BODY = "JSON 1x24, 2 ms predict"


def _profiles() -> Dict[str, dict]:
    """profiles.json: round counts, warm-up and measured seconds, codec repeats, caps."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "profiles.json")) as handle:
        return {k: v for k, v in json.load(handle).items() if not k.startswith("_")}


PROFILES = _profiles()


def log(message: str) -> None:
    stamp = datetime.datetime.now().strftime("%H:%M:%S")
    print("[%s] %s" % (stamp, message), flush=True)


def run(cmd, **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run that raises on a non-zero exit unless told otherwise."""
    kwargs.setdefault("check", True)
    return subprocess.run(cmd, **kwargs)


def venv_python(venv: str) -> str:
    return os.path.join(venv, "bin", "python")


def last_error_line(done: subprocess.CompletedProcess) -> str:
    """The last line a failed helper printed on stderr, else its exit code."""
    return (done.stderr.strip().splitlines() or ["exit %d" % done.returncode])[-1]


def http(
    method: str,
    url: str,
    body: Optional[bytes] = None,
    headers: Optional[Mapping[str, str]] = None,
    timeout: float = 5.0,
) -> Tuple[Optional[int], bytes]:
    """(status, body); status None when nothing answered."""
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError):
        return None, b""

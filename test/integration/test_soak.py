"""Bounded soak: 64 keep-alive connections for SAGEMAKER_SOAK_SECONDS (default 60) against one
real server, with a mix of valid and invalid requests.

Passes when every request got the status its kind expects (valid answers also checked for their
content), no connection failed, no pickle payload ran, and the resident memory of the Java front
end plus every Python worker grew by less than 10 % from the first 10 s to the last 10 s of the
run (means of 1 s samples). After SAGEMAKER_SOAK_WARMUP_SECONDS (default 5) of the same load,
not measured, the JVM's JIT has compiled the hot paths. The JVM runs with a fixed pre-touched
heap (SAGEMAKER_SOAK_VMARGS, see DEFAULT_VMARGS) so that heap sizing is not mistaken for a leak.

The summary goes to stdout (``-s``) and, when SAGEMAKER_SOAK_FIGURES names a file, there too.

    python -m pytest -m soak test/integration/test_soak.py -s
"""

import collections
import http.client
import io
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

import numpy as np
import psutil
import pytest

import hostile_corpus
import reliability_server

pytestmark = [pytest.mark.soak, pytest.mark.timeout(900)]

CONNECTIONS = int(os.environ.get("SAGEMAKER_SOAK_CONNECTIONS", "64"))
DURATION = float(os.environ.get("SAGEMAKER_SOAK_SECONDS", "60"))
WARMUP = float(os.environ.get("SAGEMAKER_SOAK_WARMUP_SECONDS", "5"))
WORKERS = os.environ.get("SAGEMAKER_SOAK_WORKERS", "2")
# A fixed, pre-touched heap: Java's RSS then grows only with what is really kept (metaspace,
# code cache, threads, Netty's direct buffers). "default" keeps the library's JVM arguments,
# under which G1 grows the heap for minutes (+80 % RSS in 60 s on a 24 GiB machine).
DEFAULT_VMARGS = "-XX:-UseContainerSupport -Xms256m -Xmx256m -XX:+AlwaysPreTouch"
VMARGS = os.environ.get("SAGEMAKER_SOAK_VMARGS", DEFAULT_VMARGS).strip()
if VMARGS == "default":
    VMARGS = ""
WINDOW = min(10.0, DURATION / 3)
MAX_RSS_GROWTH = 0.10
REQUEST_TIMEOUT = 60
FIGURES_ENV = "SAGEMAKER_SOAK_FIGURES"
MARKER_PATH = os.path.join(tempfile.gettempdir(), "sagemaker-soak-pickle-ran-" + uuid.uuid4().hex)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


_INPUT = np.array([[1.0, 2.0, 3.0], [4.5, 5.0, 6.0]])
_EXPECTED = _INPUT * reliability_server.FACTOR


def _json_ok(body: bytes) -> bool:
    return np.array_equal(np.array(json.loads(body)), _EXPECTED)


def _csv_ok(body: bytes) -> bool:
    rows = [[float(cell) for cell in line.split(",")] for line in body.decode().split()]
    return np.array_equal(np.array(rows), _EXPECTED)


def _npy_ok(body: bytes) -> bool:
    return np.array_equal(np.load(io.BytesIO(body), allow_pickle=False), _EXPECTED)


class Kind(NamedTuple):
    name: str
    weight: int
    content_type: str
    accept: Optional[str]
    body: bytes
    status: int
    check: Optional[Callable[[bytes], bool]] = None


KINDS = [
    Kind("json", 30, "application/json", None, json.dumps(_INPUT.tolist()).encode(), 200, _json_ok),
    Kind("csv", 20, "text/csv", "text/csv", b"1,2,3\n4.5,5,6\n", 200, _csv_ok),
    Kind("npy", 20, "application/x-npy", "application/x-npy", _npy(_INPUT), 200, _npy_ok),
    Kind("truncated_json", 8, "application/json", None, b"[[1, 2, 3], [4", 400),
    Kind("ragged_csv", 6, "text/csv", None, b"1,2,3\n4,5\n", 400),
    Kind("unknown_type", 6, "application/x-evil", None, b"[1]", 415),
    Kind("unacceptable", 5, "application/json", "image/png", b"[1]", 406),
    Kind(
        "pickle_npy",
        5,
        "application/x-npy",
        None,
        hostile_corpus.pickled_object_npy(MARKER_PATH),
        400,
    ),
]


class Tally(object):
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Dict[Tuple[str, object], int] = collections.Counter()
        self.unexpected: List[str] = []
        self.connection_errors: List[str] = []
        self.latencies: List[float] = []
        self.measured = 0

    def record(
        self, kind: Kind, status: object, problem: Optional[str], seconds: float, count: bool
    ):
        with self.lock:
            if count:
                self.measured += 1
                self.statuses[(kind.name, status)] += 1
                self.latencies.append(seconds)
            if problem is not None and status == "connection error":
                self.connection_errors.append(problem)
            elif problem is not None:
                self.unexpected.append(problem)


def _client(port: int, seed: int, stop: threading.Event, measuring: threading.Event, tally: Tally):
    rng = random.Random(seed)
    weights = [kind.weight for kind in KINDS]
    connection = http.client.HTTPConnection(reliability_server.HOST, port, timeout=REQUEST_TIMEOUT)
    while not stop.is_set():
        kind = rng.choices(KINDS, weights)[0]
        headers = {"Content-Type": kind.content_type}
        if kind.accept:
            headers["Accept"] = kind.accept
        started = time.monotonic()
        count = measuring.is_set()
        try:
            connection.request("POST", "/invocations", body=kind.body, headers=headers)
            response = connection.getresponse()
            body = response.read()
            status: object = response.status
            if response.will_close or status >= 400:
                connection.close()  # MMS closes the connection after an error status
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            problem = "{}: {}: {}".format(kind.name, type(exc).__name__, exc)
            tally.record(kind, "connection error", problem, time.monotonic() - started, count)
            continue
        problem = None
        if status != kind.status:
            problem = "{}: status {} {!r}".format(kind.name, status, body[:200])
        elif kind.check is not None:
            try:
                correct = kind.check(body)
            except Exception as exc:  # a garbled body is an unexpected answer, not a crash here
                correct = False
                body = "{!r} ({})".format(body[:200], exc).encode()
            if not correct:
                problem = "{}: wrong answer {!r}".format(kind.name, body[:200])
        elif b"\n" in body or b"\r" in body or b"Traceback" in body:
            problem = "{}: error body not one line {!r}".format(kind.name, body[:200])
        tally.record(kind, status, problem, time.monotonic() - started, count)
    connection.close()


def _role(proc: psutil.Process) -> str:
    try:
        command = " ".join(proc.cmdline())
    except psutil.Error:
        return "gone"
    if "com.amazonaws.ml.mms.ModelServer" in command:
        return "java"
    if "model_service_worker" in command:
        return "workers"
    return "entrypoint"


def _sample_rss(server, worker_pids: set) -> Dict[str, int]:
    totals: Dict[str, int] = collections.Counter()
    for pid in reliability_server.server_pids(server):
        try:
            proc = psutil.Process(pid)
            role = _role(proc)
            totals[role] += proc.memory_info().rss
        except psutil.Error:
            continue
        if role == "workers":
            worker_pids.add(pid)
    return totals


def _mean_rss(samples: List[Tuple[float, Dict[str, int]]], start: float, end: float) -> Dict:
    chosen = [rss for at, rss in samples if start <= at <= end]
    roles = ("java", "workers", "entrypoint")
    means = {role: statistics.mean(s.get(role, 0) for s in chosen) for role in roles}
    means["measured"] = means["java"] + means["workers"]
    means["samples"] = len(chosen)
    return means


def _mib(value: float) -> str:
    return "{:.1f} MiB".format(value / 1048576)


def _figures_path() -> Optional[str]:
    return os.environ.get(FIGURES_ENV) or None


def _summary(
    tally: Tally, first: Dict, last: Dict, growth: float, elapsed: float, workers_seen: int
) -> str:
    per_status: Dict[object, int] = collections.Counter()
    for (_, status), number in tally.statuses.items():
        per_status[status] += number
    latencies = sorted(tally.latencies) or [0.0]
    lines = [
        "## Soak run ({})".format(time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())),
        "",
        "Command: `{}python -m pytest -m soak test/integration/test_soak.py -s`".format(
            "".join(
                "{}={!r} ".format(name, os.environ[name])
                for name in sorted(os.environ)
                if name.startswith("SAGEMAKER_SOAK_") and name != FIGURES_ENV
            )
        ),
        "",
        "- connections: {}, measured duration: {:.1f} s (after {:g} s warm-up), MMS workers: {}, "
        "JVM arguments: {}, machine: {} CPUs (shared)".format(
            CONNECTIONS, elapsed, WARMUP, WORKERS, VMARGS or "library default", os.cpu_count()
        ),
        "- requests: {} ({:.0f}/s); statuses: {}".format(
            tally.measured,
            tally.measured / elapsed if elapsed else 0,
            ", ".join("{}: {}".format(k, v) for k, v in sorted(per_status.items(), key=str)),
        ),
        "- by kind: {}".format(
            ", ".join(
                "{} {}: {}".format(kind, status, number)
                for (kind, status), number in sorted(tally.statuses.items(), key=str)
            )
        ),
        "- unexpected statuses or answers: {}; connection errors: {} (whole run, warm-up "
        "included)".format(len(tally.unexpected), len(tally.connection_errors)),
        "- latency: p50 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms".format(
            1000 * latencies[len(latencies) // 2],
            1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
            1000 * latencies[-1],
        ),
        "- RSS (mean of the first / last {:g} s): Java {} -> {}, Python workers {} -> {}, "
        "Java + workers {} -> {} ({:+.1f} %); entry point {} -> {}".format(
            WINDOW,
            _mib(first["java"]),
            _mib(last["java"]),
            _mib(first["workers"]),
            _mib(last["workers"]),
            _mib(first["measured"]),
            _mib(last["measured"]),
            100 * growth,
            _mib(first["entrypoint"]),
            _mib(last["entrypoint"]),
        ),
        "- Python worker processes (MMS backend + forked workers) seen while measuring: {} "
        "(more than the backend + {} means workers died and were replaced)".format(
            workers_seen, WORKERS
        ),
    ]
    for problem in (tally.unexpected + tally.connection_errors)[:10]:
        lines.append("  - e.g. {}".format(problem))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def soak_server():
    env = {"SAGEMAKER_MODEL_SERVER_WORKERS": WORKERS}
    if VMARGS:
        env["SAGEMAKER_MODEL_SERVER_VMARGS"] = VMARGS
    yield from reliability_server.module_server(env, scratch_file=MARKER_PATH)


def test_soak(soak_server):
    tally = Tally()
    stop = threading.Event()
    measuring = threading.Event()
    threads = [
        threading.Thread(
            target=_client,
            args=(soak_server.port, seed, stop, measuring, tally),
            name="soak-{}".format(seed),
            daemon=True,
        )
        for seed in range(CONNECTIONS)
    ]
    for thread in threads:
        thread.start()
    samples: List[Tuple[float, Dict[str, int]]] = []
    worker_pids: set = set()
    try:
        time.sleep(WARMUP)
        measuring.set()
        started = time.monotonic()
        while time.monotonic() - started < DURATION:
            samples.append((time.monotonic() - started, _sample_rss(soak_server, worker_pids)))
            time.sleep(1.0)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=REQUEST_TIMEOUT + 5)
    assert not any(thread.is_alive() for thread in threads), "a client thread hung"

    first = _mean_rss(samples, 0, WINDOW)
    last = _mean_rss(samples, elapsed - WINDOW, elapsed)
    growth = last["measured"] / first["measured"] - 1
    summary = _summary(tally, first, last, growth, elapsed, len(worker_pids))
    sys.stdout.write("\n" + summary)
    path = _figures_path()
    if path:
        with open(path, "w") as handle:
            handle.write("# Reliability figures (written by test/integration/test_soak.py)\n\n")
            handle.write(summary)

    assert tally.measured > 0
    assert not os.path.exists(MARKER_PATH), "a pickle payload ran"
    assert tally.connection_errors == [], tally.connection_errors[:10]
    assert tally.unexpected == [], "{} unexpected, e.g. {}".format(
        len(tally.unexpected), tally.unexpected[:10]
    )
    assert first["samples"] and last["samples"]
    assert growth < MAX_RSS_GROWTH, summary
    assert reliability_server.answers_correctly(soak_server.port)

"""``--profile-java STACK``: where the Java front end spends its CPU under load.

Java Flight Recorder is started in the running JVM with ``jcmd <pid> JFR.start`` (no restart and
no JVM flag, so the server measured is the one the benchmark runs) after a JIT warm-up, wrk
drives JSON 1x16 for the recording, and ``jfr print --json`` is summarised: the JVM's CPU per
request (from /proc, the ground truth) split by thread group in the proportions of
``jdk.ThreadCPULoad``, the methods the execution samples land in (grouped by package), garbage
collection and JIT compilation time. Execution samples are taken every millisecond (a .jfc made
with ``jfr configure``; JFR's own profile settings sample every 10 ms). Needs ``jcmd`` and
``jfr`` (a JDK); the summary goes to benchmarks/.work/profile/java-<stack>.md.
"""

import collections
import json
import os
import re
import shutil
import subprocess
import time
from typing import Dict, Iterable, List, Optional, Tuple

from server_process import command_line
from suite.common import REPO, WORK, log
from suite.measure import run_wrk
from suite.stacks import Stacks

# Frames to groups for the execution samples (first match on the frame's class name).
FRAME_GROUPS = (
    ("netty", "io.netty."),
    ("MMS", "com.amazonaws.ml.mms."),
    ("log4j / slf4j", ("org.apache.logging.", "org.slf4j.")),
    ("JDK NIO / sockets", ("sun.nio.", "java.nio.")),
    ("JDK concurrency (queues, locks)", "java.util.concurrent."),
    ("JSON (gson)", "com.google.gson."),
    ("JDK other", ("java.", "jdk.", "sun.")),
)


INSTRUMENTED_EVENTS = (
    "jdk.SocketRead",
    "jdk.SocketWrite",
    "jdk.FileRead",
    "jdk.FileWrite",
    "jdk.FileForce",
    "jdk.JavaErrorThrow",
    "jdk.JavaExceptionThrow",
    "jdk.ExceptionStatistics",
)


def _jdk_tool(name: str, java: Optional[str]) -> str:
    """``name`` next to the JVM's own java, else on PATH; RuntimeError when neither has it."""
    candidates = []
    if java:
        candidates.append(os.path.join(os.path.dirname(os.path.realpath(java)), name))
    found = shutil.which(name)
    if found:
        candidates.append(found)
    for candidate in candidates:
        if os.path.exists(candidate):
            return candidate
    raise RuntimeError("%s not found: --profile-java needs a JDK" % name)


def _java_pid(pids: Iterable[int]) -> Tuple[int, str]:
    """The MMS Java process among ``pids`` and its executable."""
    for pid in pids:
        argv = command_line(pid)
        if any(b"com.amazonaws.ml.mms.ModelServer" in arg for arg in argv):
            return pid, argv[0].decode()
    raise RuntimeError("no MMS Java process found")


# Thread names (the kernel keeps 15 characters of them) to groups.
_THREAD_LABELS = (
    ("W-", "MMS worker threads (W-*)"),
    ("epollEventLoop", "netty event loops"),
    ("nioEventLoop", "netty event loops"),
    ("C1 CompilerThre", "JIT compiler"),
    ("C2 CompilerThre", "JIT compiler"),
    ("Log4j2-", "log4j async logger"),
    ("GC Thread", "GC"),
    ("G1 ", "GC"),
)


def thread_group(name: str) -> str:
    """A thread's group by its name's start; other threads with digits replaced by ``#``."""
    for prefix, label in _THREAD_LABELS:
        if name.startswith(prefix):
            return label
    return re.sub(r"\d+", "#", name)


def _frame_group(class_name: str) -> str:
    class_name = class_name.replace("/", ".")
    for label, prefixes in FRAME_GROUPS:
        if class_name.startswith(prefixes):
            return label
    return "other"


def _events(jfr_tool: str, recording: str, names: str) -> List[dict]:
    out = subprocess.run(
        [jfr_tool, "print", "--json", "--events", names, recording],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)["recording"]["events"]


def _duration_seconds(text: str) -> float:
    """JFR's JSON durations ("PT0.0012S") as seconds."""
    match = re.match(r"^PT(?:(\d+)M)?([\d.]+)S$", text or "")
    return (int(match.group(1) or 0) * 60 + float(match.group(2))) if match else 0.0


def sampled_frames(events: List[dict]) -> Tuple[collections.Counter, collections.Counter, int]:
    """(counts by top method, counts by the top frame's package group, samples)."""
    own: collections.Counter = collections.Counter()
    groups: collections.Counter = collections.Counter()
    for event in events:
        frames = (event["values"].get("stackTrace") or {}).get("frames") or []
        if not frames:
            continue
        top = frames[0]["method"]
        class_name = top["type"]["name"].replace("/", ".")
        own["%s.%s" % (class_name, top["name"])] += 1
        groups[_frame_group(class_name)] += 1
    return own, groups, sum(own.values())


# The server's other processes (MMS's Python workers, their parent, the supervisor).
PYTHON_WORKERS = "Python processes"


def proc_thread_stats(pid: int) -> Dict[str, Tuple[float, int]]:
    """CPU seconds and voluntary context switches so far of each thread group of process
    ``pid``, from /proc/<pid>/task (thread names as the kernel keeps them: at most 15
    characters). A voluntary switch is the thread blocking, so each one is a wake-up later:
    the count per request is how many times a request hands work from one thread to another."""
    totals: Dict[str, Tuple[float, int]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    task_dir = "/proc/%d/task" % pid
    for tid in os.listdir(task_dir):
        try:
            with open(os.path.join(task_dir, tid, "comm")) as handle:
                name = handle.read().strip()
            with open(os.path.join(task_dir, tid, "stat")) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open(os.path.join(task_dir, tid, "status")) as handle:
                status = handle.read()
        except OSError:  # the thread ended
            continue
        match = re.search(r"^voluntary_ctxt_switches:\s*(\d+)", status, re.MULTILINE)
        group = thread_group(name)
        cpu, switches = totals.get(group, (0.0, 0))
        totals[group] = (
            cpu + (int(fields[11]) + int(fields[12])) / tick,
            switches + (int(match.group(1)) if match else 0),
        )
    return totals


def process_stats(pids: Iterable[int]) -> Tuple[float, int]:
    """CPU seconds and voluntary context switches so far of all threads of ``pids`` together
    (processes that ended are left out)."""
    cpu, switches = 0.0, 0
    for pid in pids:
        try:
            for spent, count in proc_thread_stats(pid).values():
                cpu, switches = cpu + spent, switches + count
        except OSError:
            continue
    return cpu, switches


def _phase_line(label: str, rps: float, requests: int, before: dict, after: dict) -> str:
    """One row: a load phase's CPU per request, in all and for the biggest groups, then the
    wake-ups per request of each group that blocks at least once per ten requests. ``before``
    and ``after`` map groups to (CPU seconds, voluntary switches); the JVM's total leaves out
    :data:`PYTHON_WORKERS`, which has its own columns."""

    def delta(group: str, index: int) -> float:
        return after[group][index] - before.get(group, (0.0, 0))[index]

    spent = {g: delta(g, 0) * 1e6 / requests for g in after}
    wakes = {g: delta(g, 1) / requests for g in after}
    java = [g for g in after if g != PYTHON_WORKERS]
    top = sorted(java, key=lambda g: -spent[g])[:5]
    busy = sorted((g for g in java if wakes[g] >= 0.1), key=lambda g: -wakes[g])
    return "| %s | %.0f | %.0f | %s | %.1f | %s | %s |" % (
        label,
        rps,
        sum(spent[g] for g in java),
        ", ".join("%s %.0f" % (g, spent[g]) for g in top if spent[g] >= 0.5),
        sum(wakes[g] for g in java),
        ", ".join("%s %.1f" % (g, wakes[g]) for g in busy),
        (
            "%.0f µs, %.1f wake-ups" % (spent[PYTHON_WORKERS], wakes[PYTHON_WORKERS])
            if PYTHON_WORKERS in after
            else "n/a"
        ),
    )


def _sample_lines(own: collections.Counter, groups: collections.Counter, total: int) -> List[str]:
    lines = ["| sampled frames by package | share |", "|---|---:|"]
    for group, count in groups.most_common():
        lines.append("| %s | %.0f%% |" % (group, 100.0 * count / max(1, total)))
    lines += ["", "| hottest methods (of %d samples) | share |" % total, "|---|---:|"]
    for method, count in own.most_common(20):
        lines.append("| `%s` | %.1f%% |" % (method, 100.0 * count / max(1, total)))
    return lines


def summarise(jfr_tool: str, recording: str, requests: int) -> str:
    """Hot methods, GC and JIT of one recording made while ``requests`` were answered."""
    own, groups, total = sampled_frames(_events(jfr_tool, recording, "jdk.ExecutionSample"))
    gc = _events(jfr_tool, recording, "jdk.GarbageCollection")
    jit = _events(jfr_tool, recording, "jdk.Compilation")
    gc_seconds = sum(_duration_seconds(e["values"].get("duration")) for e in gc)
    jit_seconds = sum(_duration_seconds(e["values"].get("duration")) for e in jit)
    lines = _sample_lines(own, groups, total)
    lines += [
        "",
        "GC: %d collections, %.1f ms in all (%.2f µs per request). JIT: %d compilations "
        "finished during the recording, %.0f ms (starting a recording makes the JIT compile "
        "again: compare the phases above, measured without it)."
        % (
            len(gc),
            gc_seconds * 1e3,
            gc_seconds * 1e6 / max(1, requests),
            len(jit),
            jit_seconds * 1e3,
        ),
    ]
    return "\n".join(lines)


def _settings_file(jfr_tool: str, java: str, out_dir: str) -> str:
    """A .jfc like JFR's ``profile`` with execution samples every millisecond; ``profile``
    itself when ``jfr configure`` is not available (JDK 16 and older)."""
    base = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(java))), "lib", "jfr")
    output = os.path.join(out_dir, "sample-1ms.jfc")
    command = [jfr_tool, "configure", "--input", os.path.join(base, "profile.jfc")]
    command += ["--output", output, "jdk.ExecutionSample#period=1 ms"]
    # Events that JFR implements by instrumenting JDK classes: enabling them in a running JVM
    # retransforms those classes and throws away their compiled code, and the recording would
    # mostly show the JIT compiling it again.
    command += ["%s#enabled=false" % event for event in INSTRUMENTED_EVENTS]
    done = subprocess.run(command, capture_output=True, text=True)
    return output if done.returncode == 0 and os.path.exists(output) else "profile"


def _record(jcmd: str, pid: int, settings: str, recording: str, drive):
    """Run ``drive()`` (the load) under a JFR recording; its result."""
    start = [jcmd, str(pid), "JFR.start", "name=bench", "settings=" + settings]
    subprocess.run(start + ["filename=" + recording], check=True, capture_output=True)
    time.sleep(0.5)
    data = drive()
    subprocess.run([jcmd, str(pid), "JFR.stop", "name=bench"], check=True, capture_output=True)
    return data


def _stats(pid: int, workers: List[int]) -> Dict[str, Tuple[float, int]]:
    stats = proc_thread_stats(pid)
    stats[PYTHON_WORKERS] = process_stats(workers)
    return stats


def _phases(pid: int, workers: List[int], load, phases: int, seconds: int) -> List[str]:
    """Drive ``phases`` loads of ``seconds`` each; a row of CPU and wake-ups per request of the
    JVM's thread groups and of the server's Python processes (``workers``) for each."""
    rows = [
        "| load phase | req/s | JVM µs per request | by thread group (µs) | JVM wake-ups per "
        "request | by thread group | Python processes per request |",
        "|---|---:|---:|---|---:|---|---|",
    ]
    for index in range(phases):
        before = _stats(pid, workers)
        data = load(seconds)
        after = _stats(pid, workers)
        label = "%d-%d s" % (index * seconds, (index + 1) * seconds)
        rows.append(_phase_line(label, data.rps, max(1, data.requests), before, after))
    return rows


def profile_java(stacks: Stacks, wrk: str, stack: str, seconds: int = 15, phases: int = 4) -> str:
    """JSON 1x16 load on the stack's JVM: ``phases`` phases of ``seconds`` measured from /proc
    thread by thread (no recorder attached), then ``seconds`` under JFR for the hot methods;
    writes and returns the summary."""
    out_dir = os.path.join(WORK, "profile")
    os.makedirs(out_dir, exist_ok=True)
    recording = os.path.join(out_dir, "java-%s.jfr" % stack)
    server = stacks.start(stack, 1)

    def load(duration):
        return run_wrk(wrk, server.url, "JSON 1x16", duration)

    try:
        server.wait_ready()
        pid, java = _java_pid(server.pids())
        jcmd, jfr_tool = _jdk_tool("jcmd", java), _jdk_tool("jfr", java)
        load(2)  # the worker processes exist once a request has been answered
        workers = [p for p in server.pids() if p != pid]
        rows = _phases(pid, workers, load, phases, seconds)
        data = _record(
            jcmd, pid, _settings_file(jfr_tool, java, out_dir), recording, lambda: load(seconds)
        )
    finally:
        server.stop(5)
    text = "## %s, JSON 1x16, 1 worker\n\n%s\n\nThen %d s under JFR (%.0f req/s):\n\n%s\n" % (
        stack,
        "\n".join(rows),
        seconds,
        data.rps,
        summarise(jfr_tool, recording, max(1, data.requests)),
    )
    path = os.path.join(out_dir, "java-%s.md" % stack)
    with open(path, "w") as handle:
        handle.write(text)
    log("java profile written: %s" % os.path.relpath(path, REPO))
    return text

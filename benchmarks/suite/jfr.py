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

from server_process import command_line, cpu_seconds
from suite.common import REPO, WORK, log
from suite.measure import run_wrk
from suite.stacks import Stacks

# Netty event-loop threads are told apart by their group number (MMS runs one group for
# accepting, one for HTTP connections, one for the worker sockets); numbered threads of one
# kind are counted together.
_NETTY_THREAD = re.compile(r"^((?:epoll|nio)EventLoopGroup-\d+)-\d+$")
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


def thread_group(name: str) -> str:
    """A thread's group: ``W-*`` for MMS's per-worker threads, a Netty event-loop group by its
    number, other threads with their numbers replaced by ``#``."""
    if name.startswith("W-"):
        return "W-* (MMS worker threads)"
    netty = _NETTY_THREAD.match(name)
    if netty:
        return netty.group(1) + "-* (netty)"
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


def thread_cpu(events: List[dict]) -> Dict[str, float]:
    """Mean share of one CPU per thread group, from the periodic jdk.ThreadCPULoad events."""
    sums: Dict[str, float] = collections.defaultdict(float)
    periods: Dict[str, set] = collections.defaultdict(set)
    for event in events:
        values = event["values"]
        thread = (values.get("eventThread") or {}).get("javaName") or "?"
        load = float(values.get("user", 0)) + float(values.get("system", 0))
        group = thread_group(thread)
        sums[group] += load
        periods[group].add(values.get("startTime"))
    samples = max((len(p) for p in periods.values()), default=1)
    return {group: total / samples for group, total in sums.items()}


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


def _thread_lines(cpu: Dict[str, float], jvm_cpu_us: float) -> List[str]:
    whole = sum(cpu.values()) or 1.0
    lines = ["| thread group | share of the JVM's CPU | µs per request |", "|---|---:|---:|"]
    for group, share in sorted(cpu.items(), key=lambda kv: -kv[1]):
        if share / whole >= 0.005:
            part = share / whole
            lines.append("| %s | %.0f%% | %.0f |" % (group, 100 * part, jvm_cpu_us * part))
    return lines


def _sample_lines(own: collections.Counter, groups: collections.Counter, total: int) -> List[str]:
    lines = ["| sampled frames by package | share |", "|---|---:|"]
    for group, count in groups.most_common():
        lines.append("| %s | %.0f%% |" % (group, 100.0 * count / max(1, total)))
    lines += ["", "| hottest methods (of %d samples) | share |" % total, "|---|---:|"]
    for method, count in own.most_common(20):
        lines.append("| `%s` | %.1f%% |" % (method, 100.0 * count / max(1, total)))
    return lines


def summarise(jfr_tool: str, recording: str, requests: int, jvm_cpu_us: float) -> str:
    """The Markdown breakdown of one recording made while ``requests`` were answered, the JVM
    having spent ``jvm_cpu_us`` CPU microseconds per request (measured from /proc)."""
    cpu = thread_cpu(_events(jfr_tool, recording, "jdk.ThreadCPULoad"))
    own, groups, total = sampled_frames(_events(jfr_tool, recording, "jdk.ExecutionSample"))
    gc = _events(jfr_tool, recording, "jdk.GarbageCollection")
    jit = _events(jfr_tool, recording, "jdk.Compilation")
    gc_seconds = sum(_duration_seconds(e["values"].get("duration")) for e in gc)
    jit_seconds = sum(_duration_seconds(e["values"].get("duration")) for e in jit)
    lines = ["JVM CPU per request (from /proc): %.0f µs." % jvm_cpu_us, ""]
    lines += _thread_lines(cpu, jvm_cpu_us) + [""] + _sample_lines(own, groups, total)
    lines += [
        "",
        "GC: %d collections, %.1f ms in all (%.2f µs per request). JIT: %d compilations "
        "finished during the recording, %.0f ms."
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
    done = subprocess.run(command, capture_output=True, text=True)
    return output if done.returncode == 0 and os.path.exists(output) else "profile"


def _record(jcmd: str, pid: int, settings: str, recording: str, drive) -> Tuple[object, float]:
    """Run ``drive()`` (the load) under a JFR recording; its result and the JVM's CPU seconds."""
    start = [jcmd, str(pid), "JFR.start", "name=bench", "settings=" + settings]
    subprocess.run(start + ["filename=" + recording], check=True, capture_output=True)
    time.sleep(0.5)
    before = cpu_seconds(pid)
    data = drive()
    used = cpu_seconds(pid) - before
    subprocess.run([jcmd, str(pid), "JFR.stop", "name=bench"], check=True, capture_output=True)
    return data, used


def profile_java(stacks: Stacks, wrk: str, stack: str, seconds: int, warmup: int = 20) -> str:
    """Record the stack's JVM for ``seconds`` of JSON 1x16 load after ``warmup`` seconds of
    it (JIT compilation settles); write and return the summary."""
    out_dir = os.path.join(WORK, "profile")
    os.makedirs(out_dir, exist_ok=True)
    recording = os.path.join(out_dir, "java-%s.jfr" % stack)
    server = stacks.start(stack, 1)
    try:
        server.wait_ready()
        pid, java = _java_pid(server.pids())
        jcmd, jfr_tool = _jdk_tool("jcmd", java), _jdk_tool("jfr", java)
        settings = _settings_file(jfr_tool, java, out_dir)
        run_wrk(wrk, server.url, "JSON 1x16", warmup)
        data, used = _record(
            jcmd, pid, settings, recording, lambda: run_wrk(wrk, server.url, "JSON 1x16", seconds)
        )
    finally:
        server.stop(5)
    requests = max(1, data.requests)
    text = (
        "## %s, JSON 1x16, 1 worker: %.0f req/s under JFR (%d s after %d s of warm-up)\n\n%s\n"
        % (
            stack,
            data.rps,
            seconds,
            warmup,
            summarise(jfr_tool, recording, requests, used * 1e6 / requests),
        )
    )
    path = os.path.join(out_dir, "java-%s.md" % stack)
    with open(path, "w") as handle:
        handle.write(text)
    log("java profile written: %s" % os.path.relpath(path, REPO))
    return text

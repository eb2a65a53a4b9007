"""``--profile-java STACK``: where the Java front end spends its CPU under load.

Java Flight Recorder is started in the running JVM with ``jcmd <pid> JFR.start`` (no restart and
no JVM flag, so the server measured is the one the benchmark runs), wrk drives JSON 1x16 for the
recording, and ``jfr print --json`` is summarised: the CPU of each thread group (from
``jdk.ThreadCPULoad``), the methods the execution samples land in (self and inclusive, grouped
by package), garbage collection and JIT compilation time, and thread parks per request. Needs
``jcmd`` and ``jfr`` (a JDK); the summary goes to benchmarks/.work/profile/java-<stack>.md.
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
    """(self counts by method, inclusive counts by frame group, samples) of the samples."""
    own: collections.Counter = collections.Counter()
    groups: collections.Counter = collections.Counter()
    for event in events:
        frames = (event["values"].get("stackTrace") or {}).get("frames") or []
        if not frames:
            continue
        names = ["%s.%s" % (f["method"]["type"]["name"], f["method"]["name"]) for f in frames]
        own[names[0]] += 1
        groups[_frame_group(names[0])] += 1
    return own, groups, sum(own.values())


def summarise(jfr_tool: str, recording: str, requests: int, seconds: float) -> str:
    """The Markdown breakdown of one recording made while ``requests`` were answered."""
    cpu = thread_cpu(_events(jfr_tool, recording, "jdk.ThreadCPULoad"))
    own, groups, total = sampled_frames(_events(jfr_tool, recording, "jdk.ExecutionSample"))
    gc = _events(jfr_tool, recording, "jdk.GarbageCollection")
    jit = _events(jfr_tool, recording, "jdk.Compilation")
    parks = _events(jfr_tool, recording, "jdk.ThreadPark")
    per_request = 1e6 / max(1, requests) * seconds
    lines = ["| thread group | CPU (share of one core) | µs per request |", "|---|---:|---:|"]
    for group, share in sorted(cpu.items(), key=lambda kv: -kv[1]):
        lines.append("| %s | %.2f | %.0f |" % (group, share, share * per_request))
    lines += ["", "| sampled frames by package (self) | share |", "|---|---:|"]
    for group, count in groups.most_common():
        lines.append("| %s | %.0f%% |" % (group, 100.0 * count / max(1, total)))
    lines += ["", "| hottest methods (self, of %d samples) | share |" % total, "|---|---:|"]
    for method, count in own.most_common(15):
        lines.append("| `%s` | %.1f%% |" % (method, 100.0 * count / max(1, total)))
    gc_seconds = sum(_duration_seconds(e["values"].get("duration")) for e in gc)
    jit_seconds = sum(_duration_seconds(e["values"].get("duration")) for e in jit)
    lines += [
        "",
        "GC: %d collections, %.1f ms in all (%.2f µs per request). JIT: %d compilations, "
        "%.0f ms. Thread parks over 10 ms recorded: %d (JFR's default threshold)."
        % (
            len(gc),
            gc_seconds * 1e3,
            gc_seconds * 1e6 / max(1, requests),
            len(jit),
            jit_seconds * 1e3,
            len(parks),
        ),
    ]
    return "\n".join(lines)


def profile_java(stacks: Stacks, wrk: str, stack: str, seconds: int) -> str:
    """Record the stack's JVM for ``seconds`` of JSON 1x16 load; write and return the summary."""
    out_dir = os.path.join(WORK, "profile")
    os.makedirs(out_dir, exist_ok=True)
    recording = os.path.join(out_dir, "java-%s.jfr" % stack)
    server = stacks.start(stack, 1)
    try:
        server.wait_ready()
        pid, java = _java_pid(server.pids())
        jcmd, jfr_tool = _jdk_tool("jcmd", java), _jdk_tool("jfr", java)
        run_wrk(wrk, server.url, "JSON 1x16", 5)  # JIT warm-up before recording
        subprocess.run(
            [
                jcmd,
                str(pid),
                "JFR.start",
                "name=bench",
                "settings=profile",
                "filename=" + recording,
            ],
            check=True,
            capture_output=True,
        )
        time.sleep(0.5)
        data = run_wrk(wrk, server.url, "JSON 1x16", seconds)
        subprocess.run([jcmd, str(pid), "JFR.stop", "name=bench"], check=True, capture_output=True)
    finally:
        server.stop(5)
    text = "## %s, JSON 1x16, 1 worker: %.0f req/s under JFR (%d s)\n\n%s\n" % (
        stack,
        data.rps,
        seconds,
        summarise(jfr_tool, recording, data.requests, seconds),
    )
    path = os.path.join(out_dir, "java-%s.md" % stack)
    with open(path, "w") as handle:
        handle.write(text)
    log("java profile written: %s" % os.path.relpath(path, REPO))
    return text

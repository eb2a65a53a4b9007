"""``--profile-request-path STACK``: py-spy samples the stack's Python worker while wrk drives
each body; summaries (self and inclusive shares per function) go to benchmarks/.work/profile/."""

import os
import subprocess
import time

from suite.common import FAST_BODIES, REPO, WORK, log, run
from suite.measure import run_wrk
from server_process import command_line
from suite.stacks import Stacks


def _summarise_raw(path: str, top: int) -> str:
    """Self and inclusive sample shares per function from py-spy's raw (collapsed) output."""
    own, inclusive, total = {}, {}, 0
    with open(path) as handle:
        for line in handle:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            count = int(count)
            frames = [f for f in stack.split(";") if not f.startswith("process ")]
            if not frames:
                continue
            total += count
            own[frames[-1]] = own.get(frames[-1], 0) + count
            for frame in set(frames):
                inclusive[frame] = inclusive.get(frame, 0) + count
    if not total:
        return "no samples"
    lines = ["%d samples" % total, "", "self %  function (file:line)"]
    for frame, count in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        lines.append("%5.1f  %s" % (100.0 * count / total, frame))
    lines += ["", "inclusive %  function (file:line)"]
    for frame, count in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        lines.append("%5.1f  %s" % (100.0 * count / total, frame))
    return "\n".join(lines)


def profile_request_path(stacks: Stacks, wrk: str, stack: str, seconds: int) -> str:
    """py-spy samples the stack's Python worker while wrk drives each body; writes summaries."""
    py_spy = os.path.join(os.path.dirname(stacks.project_python), "py-spy")
    if not os.path.exists(py_spy):
        run([stacks.project_python, "-m", "pip", "install", "-q", "py-spy"])
    out_dir = os.path.join(WORK, "profile")
    os.makedirs(out_dir, exist_ok=True)
    server = stacks.start(stack, 1)
    reports = []
    try:
        server.wait_ready()
        run_wrk(wrk, server.url, "JSON 1x16", 5)
        backends = [
            pid
            for pid in server.pids()
            if any(b"model_service_worker" in arg for arg in command_line(pid))
        ]
        if not backends:
            raise RuntimeError("no model_service_worker process found")
        for body in FAST_BODIES:
            raw = os.path.join(out_dir, "%s-%s.raw" % (stack, body.split()[0].lower()))
            cmd = [py_spy, "record", "--rate", "250", "--duration", str(seconds), "--format"]
            cmd += ["raw", "--output", raw, "--subprocesses", "--nonblocking"]
            cmd += ["--pid", str(min(backends))]
            spy = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(0.5)
            data = run_wrk(wrk, server.url, body, seconds)
            spy.wait(timeout=60)
            summary = _summarise_raw(raw, 25)
            text = "## %s, %s: %.0f req/s under py-spy\n\n%s\n\n%s\n" % (
                stack,
                body,
                data.rps,
                "Socket waits (model_service_worker.py:139-142, _retrieve_buffer:160) are the "
                "worker idling for Java.",
                summary,
            )
            with open(raw[: -len(".raw")] + ".txt", "w") as handle:
                handle.write(text)
            reports.append(text)
            log("profile written: %s" % os.path.relpath(raw[: -len(".raw")] + ".txt", REPO))
    finally:
        server.stop(5)
    return "\n".join(reports)

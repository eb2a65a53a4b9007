"""The Markdown of RESULTS.md: the tables of each section and the report around them.

``SavedRun`` is everything a report is made from; run.py keeps it in benchmarks/.work/
results.json so that ``--report-only`` can rewrite RESULTS.md later.
"""

import glob
import json
import os
from dataclasses import asdict, dataclass, field
from typing import List, Optional

import peers
from suite.batching_run import batching_summary
from suite.common import FAST_BODIES, RESULTS_JSON, RESULTS_MD, SLOW_BODY, WORK
from suite.format import fmt, median
from suite.measure import wrk_command_text
from suite.stacks import BASE_STACKS, STACKS
from suite.targets import targets_markdown

CODEC_LABELS = ("1.10.1", "project", "project-stdlib")


@dataclass
class SavedRun:
    """One run: its command line, profile, stacks, machine, and what each part measured
    (``run`` is rounds.RunResult.as_dict(), empty without end-to-end measurements;
    ``batching`` is what benchmarks/batching.py wrote, or {"error": ...}, empty when not run)."""

    argv: List[str]
    profile_name: str
    profile: dict
    stacks: List[str]
    info: dict
    codecs: dict = field(default_factory=dict)
    paths: dict = field(default_factory=dict)
    run: dict = field(default_factory=dict)
    batching: dict = field(default_factory=dict)

    def save(self, path: str = RESULTS_JSON) -> None:
        with open(path, "w") as handle:
            json.dump(asdict(self), handle, indent=1)

    @classmethod
    def load(cls, path: str, argv: List[str], profile_name: str, profile: dict, stacks):
        """A saved run; files of older runs may lack argv, profile, stacks (the defaults),
        paths or batching (empty)."""
        with open(path) as handle:
            saved = json.load(handle)
        return cls(
            saved.get("argv", argv),
            saved.get("profile_name", profile_name),
            saved.get("profile", profile),
            saved.get("stacks", stacks),
            saved["info"],
            saved["codecs"],
            saved.get("paths", {}),
            saved["run"] or {},
            saved.get("batching") or {},
        )


def _codec_cell(row: dict) -> str:
    if row.get("mb_per_s") is not None:
        return "%.1f" % row["mb_per_s"]
    if "UnsupportedFormat" in row.get("error", ""):
        return "n/a"
    return "error: %s" % row.get("error", "not run")[:60] if row else "not run"


def _speed_ratio(row: dict, old: dict):
    return (
        row["mb_per_s"] / old["mb_per_s"] if old.get("mb_per_s") and row.get("mb_per_s") else None
    )


def codec_table(codecs: dict) -> tuple:
    """Markdown table and {(format, shape, op): ratio} for project (with orjson) vs 1.10.1."""
    index = {}
    for label in CODEC_LABELS:
        for row in codecs.get(label, {}).get("results", []):
            index.setdefault((row["format"], row["shape"], row["op"]), {})[label] = row
    lines = [
        "| format | shape | op | body bytes | 1.10.1 MB/s | project MB/s | project without orjson "
        "MB/s | ratio | ratio without orjson | same decoded array |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    ratios = {}
    stdlib_ratios = {}

    for key in sorted(index, key=lambda k: (k[0], int(k[1].split("x")[0]), k[2])):
        format_name, shape, op = key
        rows = index[key]
        old, new, std = (rows.get(label, {}) for label in CODEC_LABELS)
        ratio, ratio_std = _speed_ratio(new, old), _speed_ratio(std, old)
        ratios[key] = ratio
        stdlib_ratios[key] = ratio_std
        same = []
        if op == "decode" and old.get("digest"):
            for label, row in (("project", new), ("without orjson", std)):
                if row.get("digest") and row["digest"] != old["digest"]:
                    same.append("NO (%s): %s vs %s" % (label, row["digest"], old["digest"]))
            same = same or ["yes"]
        lines.append(
            "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
            % (
                format_name.upper(),
                shape,
                op,
                old.get("bytes") or new.get("bytes"),
                _codec_cell(old),
                _codec_cell(new),
                _codec_cell(std),
                fmt(ratio, "%.2fx"),
                fmt(ratio_std, "%.2fx"),
                "; ".join(same),
            )
        )
    for label in CODEC_LABELS:
        if codecs.get(label, {}).get("error"):
            lines.append("\n%s codec runner failed: %s" % (label, codecs[label]["error"]))
    return "\n".join(lines), (ratios, stdlib_ratios)


def e2e_summary(e2e: dict) -> dict:
    """(stack, case) -> medians over rounds of rps, p50, p99 and the error total."""
    summary = {}
    for stack, rounds in e2e.items():
        cases = sorted({case for r in rounds for case in r})
        for case in cases:
            samples = [r[case] for r in rounds if case in r]
            summary[(stack, case)] = {
                "rps": median(s["rps"] for s in samples),
                "p50": median(s["p50_us"] / 1000 for s in samples),
                "p99": median(s["p99_us"] / 1000 for s in samples),
                "errors": sum(s["errors"] for s in samples),
                "n": len(samples),
                "java_cpu": median(s.get("java_cpu_us") for s in samples),
                "python_cpu": median(s.get("python_cpu_us") for s in samples),
                "other_cpu": median(s.get("other_cpu_us") for s in samples),
            }
    return summary


def cpu_table(summary: dict, stacks) -> str:
    lines = [
        "| body | workers |"
        + "".join(" %s java | %s workers | %s other |" % (s, s, s) for s in stacks),
        "|---|---:|" + "---:|---:|---:|" * len(stacks),
    ]
    for body in FAST_BODIES + [SLOW_BODY]:
        for workers in (1, 2):
            row = "| %s | %d |" % (body, workers)
            for stack in stacks:
                cell = summary.get((stack, "%s|%d" % (body, workers))) or {}
                row += " %s | %s | %s |" % (
                    fmt(cell.get("java_cpu"), "%.0f"),
                    fmt(cell.get("python_cpu"), "%.0f"),
                    fmt(cell.get("other_cpu"), "%.0f"),
                )
            lines.append(row)
    return "\n".join(lines)


def total_cpu(cell: Optional[dict]) -> Optional[float]:
    """Whole-server CPU microseconds per request (Java, workers and the rest), None unmeasured."""
    parts = [(cell or {}).get(key) for key in ("java_cpu", "python_cpu", "other_cpu")]
    return None if any(part is None for part in parts) else sum(parts)


def peer_cpu_table(summary: dict, stacks) -> str:
    """Whole-server CPU per request of the project beside the ceiling and the peers, with the
    project's CPU as a fraction of each (below 1: the project spends less)."""
    shown = [s for s in ("project",) + peers.PEER_STACKS if s in stacks]
    others = [s for s in shown if s != "project"]
    lines = [
        "| body | workers |"
        + "".join(" %s µs |" % s for s in shown)
        + "".join(" project / %s |" % s for s in others),
        "|---|---:|" + "---:|" * (len(shown) + len(others)),
    ]
    for body in peers.PEER_BODIES:
        for workers in (1, 2):
            case = "%s|%d" % (body, workers)
            totals = {s: total_cpu(summary.get((s, case))) for s in shown}
            mine = totals.get("project")
            row = "| %s | %d |" % (body, workers)
            row += "".join(" %s |" % fmt(totals[s], "%.0f") for s in shown)
            for other in others:
                ratio = mine / totals[other] if mine and totals[other] else None
                row += " %s |" % fmt(ratio, "%.2f")
            lines.append(row)
    return "\n".join(lines)


def handler_table(paths: dict) -> str:
    stacks = [s for s in STACKS if s in paths]
    lines = [
        "| body |"
        + "".join(" %s us |" % s for s in stacks)
        + " project / floor | 1.10.1 / floor |",
        "|---|" + "---:|" * (len(stacks) + 2),
    ]
    for body in FAST_BODIES:
        row = "| %s |" % body
        values = {}
        for stack in stacks:
            data = paths[stack]
            value = (data.get("results") or {}).get(body, {}).get("us_per_request")
            values[stack] = value
            row += " %s |" % (fmt(value, "%.0f") if not data.get("error") else "error")
        for stack in ("project", "1.10.1"):
            a, b = values.get(stack), values.get("floor")
            row += " %s |" % fmt(a / b if a and b else None, "%.2fx")
        lines.append(row)
    for stack in stacks:
        if paths[stack].get("error"):
            lines.append("\n%s: %s" % (stack, paths[stack]["error"]))
    return "\n".join(lines)


def _speed_cells(cell) -> str:
    """req/s (with the error count, if any), p50 and p99 of one stack and case."""
    if cell is None:
        return " n/a | | |"
    errors = " (%d errors)" % cell["errors"] if cell["errors"] else ""
    return " %.0f%s | %.2f | %.2f |" % (cell["rps"], errors, cell["p50"], cell["p99"])


def _speed_table(summary: dict, shown, bodies, ratio_labels, ratios_of) -> str:
    """req/s, p50 and p99 of each ``shown`` stack per body and worker count, then one column
    per label of ``ratio_labels`` with the values ``ratios_of(case)`` gives."""
    header = "| body | workers |" + "".join(" %s req/s | p50 ms | p99 ms |" % s for s in shown)
    header += "".join(" %s |" % label for label in ratio_labels)
    lines = [header, "|---|---:|" + "---:|---:|---:|" * len(shown) + "---:|" * len(ratio_labels)]
    for body in bodies:
        for workers in (1, 2):
            case = "%s|%d" % (body, workers)
            row = "| %s | %d |" % (body, workers)
            row += "".join(_speed_cells(summary.get((stack, case))) for stack in shown)
            row += "".join(" %s |" % fmt(ratio, "%.2fx") for ratio in ratios_of(case))
            lines.append(row)
    return "\n".join(lines)


def e2e_table(summary: dict, stacks) -> str:
    """The base stacks, with each one's requests/s ratio to the floor."""
    others = [s for s in stacks if s != "floor"]

    def ratios(case: str) -> list:
        floor = summary.get(("floor", case))
        cells = [summary.get((stack, case)) for stack in others]
        return [c["rps"] / floor["rps"] if c and floor and floor["rps"] else None for c in cells]

    labels = ["%s / floor" % s for s in others]
    return _speed_table(summary, stacks, FAST_BODIES + [SLOW_BODY], labels, ratios)


def peer_table(summary: dict, stacks) -> str:
    """The project beside the ceiling and the peers, with the project's requests/s ratio to each."""
    shown = [s for s in ("project",) + peers.PEER_STACKS if s in stacks]
    others = [s for s in shown if s != "project"]

    def ratios(case: str) -> list:
        project = summary.get(("project", case))
        cells = [summary.get((stack, case)) for stack in others]
        return [c["rps"] and project["rps"] / c["rps"] if c and project else None for c in cells]

    labels = ["project / %s" % s for s in others]
    return _speed_table(summary, shown, peers.PEER_BODIES, labels, ratios)


def cold_table(result: dict, stacks) -> str:
    lines = [
        "| stack | cold start s (median) | runs | shutdown: entry process exit s | "
        "all processes gone s | runs with leftovers after cap |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for stack in stacks:
        cold = result["cold"].get(stack, [])
        downs = result["shutdown"].get(stack, [])
        exits = [d["exit_seconds"] for d in downs]
        gone = [d["gone_seconds"] for d in downs]
        leftovers = sum(1 for d in downs if d["leftovers"])
        lines.append(
            "| %s | %s | %d | %s | %s | %d of %d |"
            % (
                stack,
                fmt(median(cold), "%.2f"),
                len(cold),
                fmt(median(exits), "%.2f", "did not exit"),
                fmt(median(gone), "%.2f", "never (killed)"),
                leftovers,
                len(downs),
            )
        )
    return "\n".join(lines)


def _header(saved: SavedRun) -> List[str]:
    info, profile = saved.info, saved.profile
    return [
        "# Benchmark results",
        "",
        "Generated by `%s` (profile `%s`)."
        % (" ".join(["python", "benchmarks/run.py"] + saved.argv), saved.profile_name),
        "",
        "- date: %s" % info["date"],
        "- machine: %s cores (nproc), %s, kernel %s, load average at start %s"
        % (info["nproc"], info["cpu"], info["kernel"], " ".join(info["loadavg"])),
        "- python %s (project venv), %s (1.10.1 venv); numpy %s; %s; multi-model-server %s; %s"
        % (
            info["python"],
            info["python_1.10.1"],
            info["numpy"],
            info["java"],
            info["mms"],
            info["wrk"],
        ),
        "- peers: %s"
        % ("; ".join("%s: %s" % kv for kv in sorted(info.get("peers", {}).items())) or "none"),
        "- profile: %s" % ", ".join("%s=%s" % kv for kv in sorted(profile.items())),
    ]


def _codec_section(profile: dict, codec_md: str) -> List[str]:
    return [
        "",
        "## 1. Codecs (in-process, median of %d runs, MB/s of the canonical body)"
        % profile["codec_repeats"],
        "",
        "Each toolkit runs `benchmarks/codec_runner.py` with its own virtual environment's python. "
        "Ratio = project / 1.10.1. 1.10.1 has no JSON Lines codec. For 1.10.1 the UTF-8 "
        "bytes-to-str "
        "step its transformer performs is inside the timed decode. 'same result' compares the "
        "decoded arrays (shape, dtype, sum).",
        "",
        codec_md,
        "",
    ]


def _e2e_section(saved: SavedRun, summary: dict) -> List[str]:
    profile, stacks_run, paths = saved.profile, saved.stacks, saved.paths
    return [
        "## 2. End to end through the real MMS on 127.0.0.1",
        "",
        "Median over %d round(s) run alternately (stack order reversed every round); "
        "each server "
        "gets %d s of JIT warm-up, then every case %d s of warm-up and %d s measured; "
        "1 worker, then the same server scaled to 2 workers through the management API. "
        "Accept equals Content-Type. The model is one linear layer W (32x4); a 1x24 input "
        "makes predict burn 2 ms of CPU. Ratios are requests/s relative to the floor (a "
        "hand-written MMS "
        "handler, `benchmarks/floor_handler.py`, Java started directly)."
        % (profile["rounds"], profile["jit_warmup"], profile["warmup"], profile["duration"]),
        "",
        "Load: `%s`" % wrk_command_text(),
        "",
        e2e_table(summary, [s for s in stacks_run if s in BASE_STACKS]),
        "",
        "CPU per request while measured (microseconds, from /proc of every process the stack "
        "started: the Java front end, MMS's Python workers, and the rest, i.e. the entry "
        "process such as a supervisor). Less sensitive to other load on the machine than "
        "requests/s:",
        "",
        cpu_table(summary, [s for s in stacks_run if s in BASE_STACKS]),
        "",
        "### Python request path in-process",
        "",
        "`benchmarks/handler_runner.py` loads each stack's handler with MMS's own model loader "
        "and calls `mms.service.Service.predict` plus the worker's `emit_metrics` per request, "
        "as MMS's worker does, without the socket and Java: median CPU microseconds per "
        "request (%d requests x 3)." % profile["handler_requests"],
        "",
        handler_table(paths),
        "",
    ]


def _peer_section(saved: SavedRun, summary: dict) -> List[str]:
    return [
        "### The alternatives, same model, bodies, load and worker count",
        "",
        "The ceiling is this project's own `start_model_server` and MMS configuration with "
        "`benchmarks/ceiling_handler.py`, a handler service answering a constant without "
        "decoding. FastAPI (async endpoint, `uvicorn --workers N`, uvloop and httptools), "
        "TorchServe (custom handler `benchmarks/torchserve_handler.py`, "
        "`decode_input_request=false`) and MLServer (custom runtime "
        "`benchmarks/mlserver_runtime.py`, `parallel_workers=N`, /invocations and /ping as "
        "custom endpoints) decode and encode with `benchmarks/peer_codec.py` (orjson, "
        "numpy) and call the same model code. TorchServe is scaled to 2 workers through its "
        "management API like MMS; FastAPI and MLServer fix the worker count at start, so "
        "their 2-worker rows come from a second server started with 2. Same wrk command, "
        "same warm-up and duration as above. Ratios are the project's requests/s divided by "
        "the other stack's.",
        "",
        peer_table(summary, saved.stacks),
        "",
        "Whole-server CPU per request while measured (microseconds: every process the stack "
        "started, from /proc), and the project's as a fraction of each other stack's:",
        "",
        peer_cpu_table(summary, saved.stacks),
        "",
    ]


def _cold_section(saved: SavedRun) -> List[str]:
    return [
        "## 3. Cold start and shutdown",
        "",
        "Cold start: seconds from starting the stack's entry process (1 worker) to the first "
        "200 for a JSON 1x16 prediction. Shutdown: SIGTERM to that process; seconds until it "
        "exits and "
        "until every process it started is gone (capped at %d s, then killed)."
        % saved.profile["shutdown_cap"],
        "",
        cold_table(saved.run, saved.stacks),
        "",
    ]


def batching_table(summary: dict) -> str:
    """One row per configuration of batching.py's medians; the p99 bound on batched rows."""
    lines = [
        "| batch size | req/s | vs no batching | p50 ms | p99 ms | p99 bound ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key, row in summary["rows"].items():
        lines.append(
            "| %s | %s | %s | %s | %s | %s |"
            % (
                "1 (off)" if key == "off" else key,
                fmt(row["rps"], "%.0f"),
                fmt(row["ratio"], "%.2fx"),
                fmt(row["p50_ms"], "%.1f"),
                fmt(row["p99_ms"], "%.1f"),
                "-" if key == "off" else fmt(summary["bound_ms"], "%.1f"),
            )
        )
    return "\n".join(lines)


def _batching_section(batching: dict) -> List[str]:
    """Section 5, only when batching.py left figures."""
    summary = batching_summary(batching)
    if summary is None:
        return []
    settings = batching["args"]
    return [
        "## 5. Dynamic batching (`benchmarks/batching.py`)",
        "",
        "One server per configuration through this project's `start_model_server` (without "
        "batching, then SAGEMAKER_MODEL_SERVER_BATCH_SIZE as in the table with "
        "SAGEMAKER_MODEL_SERVER_MAX_BATCH_DELAY_MS=%s), %s worker(s), a model whose predict "
        "costs %g ms per call plus %g ms per row (%s; `batch_stacking` gives it one batch per "
        "call), JSON 1x%s bodies, wrk with %s connections for %s s after %s s of warm-up "
        "(and one connection for half that time). "
        "Medians of %d run(s). The goal: batching at >= 3x the requests/s without batching, "
        "with p99 <= max_batch_delay + 2x the single-request latency (p50 without batching "
        "at 1 connection)."
        % (
            settings["max_batch_delay_ms"],
            settings["workers"],
            settings["fixed_ms"],
            settings["row_ms"],
            "sleeping" if settings["sleep"] else "busy CPU",
            settings.get("features", 16),
            settings["connections"],
            "%g" % settings["duration"] if "duration" in settings else "?",
            "%g" % settings["warmup"] if "warmup" in settings else "?",
            summary["runs"],
        ),
        "",
        batching_table(summary),
        "",
        "Single-request latency without batching (p50, 1 connection): %s ms."
        % fmt(summary["single_ms"], "%.1f"),
        "",
    ]


def _failures(saved: SavedRun) -> List[str]:
    """The stacks that stopped being measured, and a batching run that failed."""
    failures = dict((saved.run or {}).get("failures") or {})
    if saved.batching.get("error"):
        failures["dynamic batching"] = saved.batching["error"]
    if not failures:
        return []
    return ["Failures:", ""] + ["- %s: %s" % kv for kv in sorted(failures.items())] + [""]


def _commands(profile: dict) -> List[str]:
    batching = []
    if "batching_runs" in profile:  # results of older runs have no batching settings
        batching.append(
            "- dynamic batching: `benchmarks/.work/venv-project/bin/python benchmarks/batching.py "
            "--runs %s --duration %s --warmup %s --json benchmarks/.work/batching.json` (wrk on "
            "PATH)"
            % (profile["batching_runs"], profile["batching_duration"], profile["batching_warmup"])
        )
    return [
        "## Commands",
        "",
        "- floor: `java -Dmodel_server_home=<site-packages> -cp .:<site-packages>/mms/frontend/* "
        "com.amazonaws.ml.mms.ModelServer --python <project venv python> "
        "-f <state>/floor.properties "
        "-s / -m model=<abs path of benchmarks/.work/opt_ml/model>` "
        "(handler `floor_handler:handle`)",
        "- 1.10.1: `benchmarks/.work/venv-1.10.1/bin/python benchmarks/launch_old.py --state-dir "
        "<state>` (its own `start_model_server()`; config file kept in the state dir)",
        "- project: `benchmarks/.work/venv-project/bin/python benchmarks/launch_project.py` "
        "(`start_model_server()`)",
        "- all stacks: SAGEMAKER_BASE_DIR=benchmarks/.work/opt_ml, SAGEMAKER_BIND_TO_PORT, "
        "SAGEMAKER_MODEL_SERVER_WORKERS=1, a TMPDIR of their own",
        "- ceiling: as project, with `--handler-service ceiling_handler` and benchmarks/ on "
        "PYTHONPATH",
        "- fastapi: `benchmarks/.work/venv-fastapi/bin/python -m uvicorn fastapi_app:app --host "
        "127.0.0.1 --port <port> --workers <n> --log-level warning --no-access-log`",
        "- torchserve: `benchmarks/.work/venv-torchserve/bin/torchserve --start --foreground "
        "--ncs --disable-token-auth --model-store benchmarks/.work/torchserve-store --models "
        "model=model.mar --ts-config <state>/config.properties` (archive made with "
        "torch-model-archiver from benchmarks/torchserve_handler.py)",
        "- mlserver: `benchmarks/.work/venv-mlserver/bin/mlserver start <state>/models` "
        "(settings.json with parallel_workers=<n>; model-settings.json naming "
        "`mlserver_runtime.BenchmarkRuntime`)",
        "- codecs: `<venv>/bin/python benchmarks/codec_runner.py --toolkit <label> --repeats %d "
        "--min-seconds %s`" % (profile["codec_repeats"], profile["codec_min_seconds"]),
        *batching,
        "",
    ]


def _java_profile_section(profile_dir: str) -> List[str]:
    """The summaries the last ``--profile-java`` runs left in ``profile_dir`` (none: nothing)."""
    found = sorted(glob.glob(os.path.join(profile_dir, "java-*.md")))
    if not found:
        return []
    parts = [
        "## 4. Where the Java front end's CPU goes (`--profile-java`)",
        "",
        "JSON 1x16 load on one worker, made separately from the rounds above by "
        "`python benchmarks/run.py --only <stack> --profile-java <stack>`: four 15 s phases "
        "with the JVM's CPU per request read thread by thread from /proc (no recorder "
        "attached), then 15 s under Java Flight Recorder (`jcmd <pid> JFR.start`, execution "
        "samples every millisecond) for the methods the CPU goes to.",
        "",
    ]
    for path in found:
        with open(path, encoding="utf-8") as handle:
            parts += [
                handle.read().strip().replace("\n## ", "\n### ").replace("## ", "### ", 1),
                "",
            ]
    return parts


def report_markdown(saved: SavedRun, profile_dir: str = os.path.join(WORK, "profile")) -> str:
    """The whole of RESULTS.md for ``saved``."""
    result = saved.run or None
    codec_md, ratios = codec_table(saved.codecs)
    summary = e2e_summary(result.get("e2e", {})) if result else {}
    parts = _header(saved) + _codec_section(saved.profile, codec_md)
    if result:
        parts += _e2e_section(saved, summary) + _peer_section(saved, summary)
        parts += _cold_section(saved) + _java_profile_section(profile_dir)
    parts += _batching_section(saved.batching) + _failures(saved)
    if result:
        batching = batching_summary(saved.batching)
        targets = targets_markdown(ratios, summary, result, STACKS, batching)
        parts += ["## Targets (issues 5, 12 and 14)", "", targets, ""]
    return "\n".join(parts + _commands(saved.profile))


def write_report(saved: SavedRun) -> str:
    """Writes benchmarks/RESULTS.md; its text."""
    text = report_markdown(saved)
    with open(RESULTS_MD, "w") as handle:
        handle.write(text)
    return text


def cold_only_table(cold: dict, only: List[str]) -> str:
    """``--cold-only``: the median and every run of each stack."""
    lines = ["| stack | cold start s (median) | runs | every run s |", "|---|---:|---:|---|"]
    for stack in only:
        values = " ".join("%.2f" % v for v in cold[stack])
        lines.append(
            "| %s | %.2f | %d | %s |" % (stack, median(cold[stack]), len(cold[stack]), values)
        )
    return "\n".join(lines)

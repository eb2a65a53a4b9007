"""The pass/fail goals of the report, read from targets.json: one evaluator per kind of row.

Each evaluator gets the row (its parameters) and the measurements, and returns the row's
Markdown line ``| name | measured | met |``; "met" is yes, NO, n/a (not measured) or, for codec
rows, "large bodies only". Batching rows read the medians of benchmarks/batching.py
(suite.batching_run.batching_summary).
"""

import json
import os
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import peers
from suite.format import fmt, median

TARGETS_JSON = os.path.join(os.path.dirname(os.path.abspath(__file__)), "targets.json")
SHAPES = ("1x16", "1000x32", "10000x32")


@dataclass
class Measured:
    """What the targets are checked against: codec ratios (project / 1.10.1, with and without
    orjson) by (format, shape, op), end-to-end medians by (stack, case), median cold starts,
    and batching_summary's medians of the dynamic-batching run (empty: not measured)."""

    codec_ratios: Dict[Tuple[str, str, str], Optional[float]]
    stdlib_ratios: Dict[Tuple[str, str, str], Optional[float]]
    summary: dict
    cold: Dict[str, Optional[float]]
    batching: dict = field(default_factory=dict)

    def rps(self, stack: str, case: str) -> Optional[float]:
        cell = self.summary.get((stack, case))
        return cell["rps"] if cell else None

    def cpu(self, stack: str, case: str) -> Optional[float]:
        """Whole-server CPU microseconds per request (Java, workers and the rest)."""
        cell = self.summary.get((stack, case)) or {}
        parts = [cell.get(key) for key in ("java_cpu", "python_cpu", "other_cpu")]
        return None if any(part is None for part in parts) else sum(parts)

    def by_shape(self, fmt_name: str, op: str, stdlib: bool = False) -> List[Optional[float]]:
        ratios = self.stdlib_ratios if stdlib else self.codec_ratios
        found = {shape: r for (f, shape, o), r in ratios.items() if f == fmt_name and o == op}
        return [found.get(shape) for shape in SHAPES]


def _line(name: str, text: str, met: str) -> str:
    return "| %s | %s | %s |" % (name, text, met)


def _at_least(name: str, value: Optional[float], goal: float, text: Optional[str] = None) -> str:
    met = "n/a" if value is None else ("yes" if value >= goal else "NO")
    return _line(name, text or fmt(value, "%.2fx"), met)


def _rps_ratio(row: dict, measured: Measured) -> str:
    mine = measured.rps(row["stack"], row["case"])
    theirs = measured.rps(row["versus"], row.get("versus_case", row["case"]))
    return _at_least(row["name"], mine / theirs if mine and theirs else None, row["goal"])


def _cpu_at_most(row: dict, measured: Measured) -> str:
    """The stack's whole-server CPU per request at most ``goal`` times the other's."""
    mine, theirs = measured.cpu(row["stack"], row["case"]), measured.cpu(row["versus"], row["case"])
    if not mine or not theirs:
        return _line(row["name"], "n/a", "n/a")
    ratio = mine / theirs
    text = "%.2fx (%.0f µs vs %.0f µs)" % (ratio, mine, theirs)
    return _line(row["name"], text, "yes" if ratio <= row["goal"] else "NO")


def _codec(row: dict, measured: Measured) -> str:
    values = measured.by_shape(row["format"], row["op"])
    stdlib = measured.by_shape(row["format"], row["op"], stdlib=True)
    text = "%s (without orjson %s)" % (
        " / ".join(fmt(v, "%.2fx") for v in values),
        " / ".join(fmt(v, "%.2fx") for v in stdlib),
    )
    goal = row["goal"]
    if any(v is None for v in values):
        met = "n/a"
    elif all(v >= goal for v in values):
        met = "yes"
    elif all(v >= goal for v in values[1:]):
        met = "large bodies only"
    else:
        met = "NO"
    return _line(row["name"], text, met)


def _codec_large(row: dict, measured: Measured) -> str:
    values = measured.by_shape(row["format"], row["op"])[1:]
    text = " / ".join(fmt(v, "%.2fx") for v in values)
    met = "n/a" if None in values else ("yes" if min(values) >= row["goal"] else "NO")
    return _line(row["name"], text, met)


def _codec_small(row: dict, measured: Measured) -> str:
    return _at_least(row["name"], measured.by_shape(row["format"], row["op"])[0], row["goal"])


def _peer_lead(row: dict, measured: Measured) -> str:
    """The lowest ratio over the peers' rows must be above 1 (strictly ahead)."""
    ratios = []
    for body in peers.PEER_BODIES:
        for workers in (1, 2):
            case = "%s|%d" % (body, workers)
            mine, theirs = measured.rps(row["stack"], case), measured.rps(row["versus"], case)
            ratios.append(mine / theirs if mine and theirs else None)
    value = None if None in ratios else min(ratios)
    score = None if value is None else value - 1e-9
    return _at_least(row["name"], score, 1.0, fmt(value, "%.2fx"))


def _cold_pair(row: dict, measured: Measured):
    return measured.cold.get(row["stack"]), measured.cold.get(row["versus"])


def _cold_not_slower(row: dict, measured: Measured) -> str:
    mine, theirs = _cold_pair(row, measured)
    if mine is None or theirs is None:
        return _at_least(row["name"], None, 0)
    return _at_least(row["name"], theirs - mine, 0, "%.2f s vs %.2f s" % (mine, theirs))


def _cold_within(row: dict, measured: Measured) -> str:
    mine, floor = _cold_pair(row, measured)
    if mine is None or floor is None:
        return _at_least(row["name"], None, 0)
    text = "%+.2f s vs floor" % (mine - floor)
    return _at_least(row["name"], row["seconds"] - (mine - floor), 0, text)


def _cold_ratio(row: dict, measured: Measured) -> str:
    mine, floor = _cold_pair(row, measured)
    if mine is None or floor is None:
        return _at_least(row["name"], None, 0)
    ratio = mine / floor
    text = "%.2fx (%.2f s vs %.2f s)" % (ratio, mine, floor)
    return _at_least(row["name"], row["goal"] - ratio, 0, text)


def _batching(row: dict, measured: Measured) -> str:
    """Every batch size of ``row["batch_sizes"]`` against the goal of ``row["check"]``:
    "speedup" (req/s over no batching's >= ``goal``) or "p99_bound" (p99 <= max_batch_delay
    + 2x the single-request latency); n/a unless each of them was measured."""
    rows = measured.batching.get("rows", {})
    cells = [rows.get(size) for size in row["batch_sizes"]]
    if any(cell is None for cell in cells):
        return _line(row["name"], "n/a", "n/a")
    if row["check"] == "speedup":
        values = [cell["ratio"] for cell in cells]
        met = all(v is not None and v >= row["goal"] for v in values)
        text = " / ".join(fmt(v, "%.2fx") for v in values)
    else:
        bound = measured.batching.get("bound_ms")
        values = [cell["p99_ms"] for cell in cells]
        met = bound is not None and all(v is not None and v <= bound for v in values)
        text = "%s ms (bound %s ms)" % (
            " / ".join(fmt(v, "%.1f") for v in values),
            fmt(bound, "%.1f"),
        )
    return _line(row["name"], text, "yes" if met else "NO")


EVALUATORS: Dict[str, Callable[[dict, Measured], str]] = {
    "rps_ratio": _rps_ratio,
    "cpu_at_most": _cpu_at_most,
    "codec": _codec,
    "codec_large": _codec_large,
    "codec_small": _codec_small,
    "peer_lead": _peer_lead,
    "cold_not_slower": _cold_not_slower,
    "cold_within": _cold_within,
    "cold_ratio": _cold_ratio,
    "batching": _batching,
}


def load_targets(path: str = TARGETS_JSON) -> List[dict]:
    """The tables of targets.json: each {"heading": str or null, "rows": [...]}."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)["tables"]


def targets_markdown(
    codec_ratios: tuple, summary: dict, result: dict, stacks, batching: Optional[dict] = None
) -> str:
    """Every table of targets.json, evaluated; ``stacks`` are the stacks cold starts are
    looked up for, ``batching`` is batching_summary's (None: no batching figures)."""
    cold = {s: median(result["cold"].get(s, [])) for s in stacks}
    measured = Measured(codec_ratios[0], codec_ratios[1], summary, cold, batching or {})
    lines: List[str] = []
    for table in load_targets():
        if table["heading"]:
            lines += ["", table["heading"], ""]
        lines += ["| target | measured | met |", "|---|---|---|"]
        lines += [EVALUATORS[row["kind"]](row, measured) for row in table["rows"]]
    return "\n".join(lines)

"""The order of the runs: rounds of every stack alternately (order reversed every round), each
server measured at 1 then 2 workers, then extra cold starts; and their typed results."""

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional

import peers
from suite.common import WORK, log
from suite.measure import measure_server, verify_predictions
from suite.stacks import COLD_ONLY, Server, Stacks, stack_order


@dataclass
class RunResult:
    """Per stack: the end-to-end cases of each round, cold starts (s), shutdown timings, and
    why a stack stopped being measured. ``as_dict`` is the form results.json keeps."""

    e2e: Dict[str, List[dict]] = field(default_factory=dict)
    cold: Dict[str, List[float]] = field(default_factory=dict)
    shutdown: Dict[str, List[dict]] = field(default_factory=dict)
    failures: Dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_stacks(cls, only: List[str]) -> "RunResult":
        return cls({s: [] for s in only}, {s: [] for s in only}, {s: [] for s in only}, {})

    def as_dict(self) -> dict:
        return asdict(self)

    def stopped(self, stack: str, server: Optional[Server], cap: float) -> None:
        """Stops ``server`` (when one was started) and keeps its shutdown timing."""
        if server is not None:
            self.shutdown[stack].append(asdict(server.stop(cap)))

    def failed(self, stack: str, exc: Exception) -> None:
        self.failures[stack] = "%s: %s" % (type(exc).__name__, exc)
        log("  FAILED: %s" % self.failures[stack])


def _start_ready(stacks: Stacks, stack: str, workers: int, running: List[Server]) -> Server:
    """Starts ``stack`` (kept in ``running`` until it is stopped) and waits for its answer."""
    server = stacks.start(stack, workers)
    running.append(server)
    server.wait_ready()
    label = "  ready" if workers == 1 else "  2 workers: ready"
    log("%s after %.2f s" % (label, server.ready_seconds))
    return server


def _measure_stack(stacks, stack: str, wrk: str, profile: dict, result, running) -> None:
    """One round of one stack; the servers it leaves running are in ``running``."""
    server = _start_ready(stacks, stack, 1, running)
    result.cold[stack].append(server.ready_seconds)
    verify_predictions(server)
    if stack in COLD_ONLY:
        return
    restart = stack in peers.RESTART_TO_SCALE
    measured = measure_server(server, wrk, profile, first=True, counts=(1,) if restart else (1, 2))
    if restart:  # the worker count is fixed at start: a fresh server for 2
        result.stopped(stack, running.pop(), profile["shutdown_cap"])
        server = _start_ready(stacks, stack, 2, running)
        verify_predictions(server)
        measured.update(measure_server(server, wrk, profile, True, counts=(2,)))
    result.e2e[stack].append(measured)


def _one_round(stacks: Stacks, round_index: int, wrk: str, profile: dict, only, result) -> None:
    for stack in [s for s in stack_order(round_index) if s in only]:
        if stack in result.failures:
            continue
        log("round %d: %s" % (round_index + 1, stack))
        running: List[Server] = []
        try:
            _measure_stack(stacks, stack, wrk, profile, result, running)
        except Exception as exc:  # keep measuring the other stacks
            result.failed(stack, exc)
        finally:
            for server in running:
                result.stopped(stack, server, profile["shutdown_cap"])


def _cold_round(stacks: Stacks, extra: int, profile: dict, only, result: RunResult) -> None:
    for stack in [s for s in stack_order(extra + 1) if s in only]:
        if stack in result.failures:
            continue
        log("cold start %d: %s" % (extra + 1, stack))
        server = None
        try:
            server = stacks.start(stack, 1)
            result.cold[stack].append(server.wait_ready())
            log("  ready after %.2f s" % server.ready_seconds)
        except Exception as exc:
            result.failed(stack, exc)
        finally:
            result.stopped(stack, server, profile["shutdown_cap"])


def run_end_to_end(stacks: Stacks, wrk: str, profile: dict, only) -> RunResult:
    """Every round of measurements, then cold starts until each stack has at least three."""
    result = RunResult.for_stacks(only)
    for round_index in range(profile["rounds"]):
        _one_round(stacks, round_index, wrk, profile, only, result)
    for extra in range(profile["extra_cold"] + max(0, 2 - profile["rounds"])):
        _cold_round(stacks, extra, profile, only, result)
    return result


def cold_only(stacks: Stacks, only: List[str], rounds: int) -> Dict[str, List[float]]:
    """Cold starts only, the stacks alternately (order reversed every round); also written to
    benchmarks/.work/cold-only.json."""
    cold: Dict[str, List[float]] = {stack: [] for stack in only}
    for round_index in range(rounds):
        order = only if round_index % 2 == 0 else only[::-1]
        for stack in order:
            server = stacks.start(stack, 1)
            try:
                cold[stack].append(server.wait_ready())
                log("cold start %d: %-12s %.2f s" % (round_index + 1, stack, server.ready_seconds))
            finally:
                server.stop(10)
    with open(os.path.join(WORK, "cold-only.json"), "w") as handle:
        json.dump(cold, handle)
    return cold

#!/usr/bin/env python3
"""Side-by-side benchmark: this project vs sagemaker-inference 1.10.1, a no-toolkit MMS floor,
the ceiling of the project's own front end, and FastAPI, TorchServe and MLServer.

    python benchmarks/run.py            # full run (about 29 minutes on 2 cores)
    python benchmarks/run.py --quick    # development run (about 7 minutes)
    python benchmarks/run.py --quick --skip-e2e     # the codecs only (about 3 minutes)
    python benchmarks/run.py --quick --skip-codecs --only project,fastapi   # a few stacks

Builds what it needs under benchmarks/.work/ (virtual environments, model, bodies; wrk through
apt-get when missing), measures codecs in-process, end-to-end throughput and latency through the
real Java MMS on 127.0.0.1, cold start and shutdown, prints the tables and writes
benchmarks/RESULTS.md; with the project among the stacks, also the dynamic-batching benchmark
(benchmarks/batching.py). Only the standard library is needed to run this file; the work is done by
the package benchmarks/suite/ (provision, stacks, measure, rounds, report, targets.json) and the
peers' own code is in benchmarks/peers.py.
"""

import argparse
import os
import shutil
import signal
import sys
import time

from suite import provision, report, rounds
from suite.batching_run import run_batching
from suite.common import PROFILES, RESULTS_JSON, RESULTS_MD, WORK, log
from suite.measure import run_all_codecs, run_handler_paths
from suite.jfr import profile_java
from suite.pyspy import profile_request_path
from suite.stacks import DEFAULT_STACKS, STACKS, Stacks, cleanup_all


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short development run (~3-4 min)")
    parser.add_argument(
        "--project-python",
        help="python of an environment where this project is installed (default: build "
        "benchmarks/.work/venv-project with an editable install)",
    )
    parser.add_argument(
        "--only",
        default=DEFAULT_STACKS,
        help="stacks, comma-separated, from: %s (project-stdlib hides orjson)" % ", ".join(STACKS),
    )
    parser.add_argument(
        "--profile-request-path",
        metavar="STACK",
        help="only profile STACK's worker with py-spy (writes benchmarks/.work/profile/)",
    )
    parser.add_argument(
        "--profile-java",
        metavar="STACK",
        help="only record STACK's JVM with Java Flight Recorder under JSON 1x16 load and print "
        "where its CPU goes (needs jcmd and jfr; writes benchmarks/.work/profile/)",
    )
    parser.add_argument(
        "--project-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the project stacks (repeatable), e.g. to A/B a setting",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite RESULTS.md from the last run's benchmarks/.work/results.json",
    )
    parser.add_argument(
        "--cold-only",
        type=int,
        metavar="N",
        help="only N alternating rounds of cold starts of the --only stacks; prints a table "
        "and leaves RESULTS.md alone (e.g. --cold-only 8 --only floor,project,project-cds)",
    )
    parser.add_argument("--skip-codecs", action="store_true")
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument(
        "--skip-batching", action="store_true", help="leave out benchmarks/batching.py"
    )
    parser.add_argument("--rounds", type=int, help="override the profile's round count")
    parser.add_argument("--duration", type=float, help="override measured seconds per case")
    args = parser.parse_args(argv)
    args.argv = list(argv)
    args.profile = "quick" if args.quick else "full"
    return args


def _profile(args) -> dict:
    profile = dict(PROFILES[args.profile])
    if args.rounds:
        profile["rounds"] = args.rounds
    if args.duration:
        profile["duration"] = args.duration
    return profile


def _report_only(args, profile: dict, only) -> int:
    saved = report.SavedRun.load(RESULTS_JSON, args.argv, args.profile, profile, only)
    print(report.write_report(saved))
    return 0


def _stacks(args, ready: provision.Provisioned) -> Stacks:
    """The stacks, with --project-env applied to the project's (in every mode)."""
    stacks = Stacks(ready.project_python, ready.old_python)
    stacks.project_env = dict(item.split("=", 1) for item in args.project_env)
    return stacks


def _measure(args, profile: dict, only, ready: provision.Provisioned) -> report.SavedRun:
    """Codecs, the request path in-process, the end-to-end rounds and the dynamic-batching
    benchmark (with the project among the stacks), as the flags say."""
    info = provision.machine_info(ready.project_python, ready.old_python, ready.wrk)
    info["peers"] = provision.peer_versions(only)
    saved = report.SavedRun(args.argv, args.profile, profile, only, info)
    if not args.skip_codecs:
        saved.codecs = run_all_codecs(ready.old_python, ready.project_python, profile)
    if not args.skip_e2e:
        shutil.rmtree(os.path.join(WORK, "state"), ignore_errors=True)  # last run's logs
        stacks = _stacks(args, ready)
        saved.paths = run_handler_paths(stacks, only, profile)
        result = rounds.run_end_to_end(stacks, ready.wrk, profile, only)
        result.failures.update(ready.unavailable)
        saved.run = result.as_dict()
        if "project" in only and not args.skip_batching:
            saved.batching = run_batching(ready.project_python, ready.wrk, profile)
    return saved


def _run(args, profile: dict, only) -> int:
    began = time.monotonic()
    ready = provision.provision(only, args.project_python)
    only = [s for s in only if s not in ready.unavailable]
    if args.cold_only:
        stacks = _stacks(args, ready)
        cold = rounds.cold_only(stacks, only, args.cold_only)
        print(report.cold_only_table(cold, only))
        return 0
    if args.profile_request_path:
        stacks = _stacks(args, ready)
        print(profile_request_path(stacks, ready.wrk, args.profile_request_path, 8))
        return 0
    if args.profile_java:
        stacks = _stacks(args, ready)
        print(profile_java(stacks, ready.wrk, args.profile_java))
        return 0
    saved = _measure(args, profile, only, ready)
    saved.save()
    text = report.write_report(saved)
    print()
    print(text)
    log("done in %.0f s; wrote %s" % (time.monotonic() - began, os.path.relpath(RESULTS_MD)))
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    profile = _profile(args)
    only = [s for s in STACKS if s in args.only.split(",")]
    os.makedirs(WORK, exist_ok=True)

    def on_signal(signo, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    if args.report_only:
        return _report_only(args, profile, only)
    try:
        return _run(args, profile, only)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        leftovers = cleanup_all()
        if leftovers:
            log("WARNING: processes still alive after cleanup: %s" % leftovers)


if __name__ == "__main__":
    sys.exit(main())

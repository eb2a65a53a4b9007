"""``python -m sagemaker_inference.plugin build|check``: rebuild or verify the shipped jars.

``build`` compiles both jars with a JDK into the package's ``lib/`` (in a source checkout these
are the committed jars), or with ``--cache-dir DIR`` into DIR, where the server looks when
SAGEMAKER_MMS_PLUGIN_CACHE_DIR names it (for an installation whose ``lib/`` is read-only).
``check`` exits 1, naming each jar, when a shipped jar was not built from the installed source.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Optional, Sequence

from sagemaker_inference import plugin
from sagemaker_inference.plugin import build


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command; returns the exit code (0 done, 1 failed or stale, 2 usage)."""
    parser = argparse.ArgumentParser(prog="python -m sagemaker_inference.plugin")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    build_cmd = commands.add_parser("build", help="compile both jars from java-src (needs a JDK)")
    build_cmd.add_argument(
        "--cache-dir",
        metavar="DIR",
        default=None,
        help="write the jars under DIR instead of the package's lib/ directory",
    )
    commands.add_parser("check", help="exit 1 when a shipped jar does not match its source")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "check":
        return _check()
    return _build(args.cache_dir)


def _build(cache_dir: Optional[str]) -> int:
    for artifact in plugin.ARTIFACTS:
        digest = plugin.source_digest(artifact.sources())
        target = artifact.cached_jar(cache_dir, digest) if cache_dir else artifact.shipped_jar()
        try:
            build.build(artifact, target)
        except (build.BuildError, OSError) as exc:
            print("building the {} failed: {}".format(artifact.label, exc), file=sys.stderr)
            return 1
        print(target)
    return 0


def _check() -> int:
    stale = 0
    for artifact in plugin.ARTIFACTS:
        jar = artifact.shipped_jar()
        digest = plugin.source_digest(artifact.sources())
        recorded = plugin.recorded_digest(jar)
        if recorded == digest:
            print("ok {}".format(jar))
            continue
        stale += 1
        print(
            "stale {}: records {}, source is {}; run `python -m sagemaker_inference.plugin "
            "build` and commit the jars".format(jar, recorded or "nothing", digest),
            file=sys.stderr,
        )
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())

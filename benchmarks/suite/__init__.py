"""The side-by-side benchmark behind ``python benchmarks/run.py``, one module per job.

- common: where things live, the request bodies, the profiles, logging;
- provision: virtual environments, wrk, the model, the bodies, the machine's description;
- stacks: how each stack starts (through test/server_process.py, the suite's one process
  control), scales and stops;
- measure: codecs in-process, the request path in-process, wrk against a running server;
- rounds: the order of the runs (stacks alternately, cold starts) and their typed results;
- pyspy: py-spy of a live worker (``--profile-request-path``);
- batching_run: benchmarks/batching.py in the run (dynamic batching) and its medians;
- report: the Markdown tables and RESULTS.md; targets (with targets.json): the goals it checks.

Importing the package puts test/ on sys.path for server_process.
"""

import os
import sys

_TEST_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "test")
if os.path.abspath(_TEST_DIR) not in [os.path.abspath(p) for p in sys.path]:
    sys.path.append(os.path.abspath(_TEST_DIR))

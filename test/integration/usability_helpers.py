"""The usability tests' model, rows and commands; their servers come from server_harness.py.

``Server``, ``server_env``, ``wait_until_ready``, ``stop`` and ``loaded`` are the harness's
command-line server pieces under the names these tests use.
"""

import os
import sys
from typing import List

from server_harness import CliServer as Server  # noqa: F401
from server_harness import cli_environment as server_env  # noqa: F401
from server_harness import loaded, wait_until_ready  # noqa: F401
from server_harness import stop_cli as stop  # noqa: F401

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FRUIT_MODEL = os.path.join(ROOT, "examples", "fruit", "model")
ENTRYPOINT = os.path.join(ROOT, "test", "container", "entrypoint.py")
APPLE = [182, 7.4, 12.9, 0.2]
LEMON = [105, 5.4, 2.5, 0.5]


def console_script() -> List[str]:
    """The installed ``sagemaker-inference`` script next to this interpreter, else -m."""
    script = os.path.join(os.path.dirname(sys.executable), "sagemaker-inference")
    if os.path.exists(script):
        return [script]
    return [sys.executable, "-m", "sagemaker_inference"]

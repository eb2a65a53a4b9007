"""The environment variables MMS and its Python workers start with.

The workers read their settings (``SAGEMAKER_*``) from the environment they inherit, so the
server passes its own, plus the user's code directory first on ``PYTHONPATH`` and, in
single-model mode, the file where failed loads are counted.
"""

from __future__ import annotations

import os
from typing import Dict, Mapping, Optional

from sagemaker_inference import parameters

PYTHON_PATH_ENV = "PYTHONPATH"


def python_path_with(code_dir: str, current: Optional[str]) -> str:
    """``current`` (a PYTHONPATH value) with ``code_dir`` first, added once."""
    if not current:
        return code_dir
    parts = current.split(os.pathsep)
    if code_dir in parts:
        return current
    return os.pathsep.join([code_dir] + parts)


def for_mms(
    base: Mapping[str, str], code_dir: str, load_failure_file: Optional[str]
) -> Dict[str, str]:
    """A copy of ``base`` for the MMS process: ``code_dir`` on PYTHONPATH, and
    SAGEMAKER_LOAD_FAILURE_FILE set to ``load_failure_file`` (removed when it is None)."""
    env = dict(base)
    env[PYTHON_PATH_ENV] = python_path_with(code_dir, env.get(PYTHON_PATH_ENV))
    if load_failure_file:
        env[parameters.LOAD_FAILURE_FILE_ENV] = load_failure_file
    else:
        env.pop(parameters.LOAD_FAILURE_FILE_ENV, None)
    return env

"""Install the user's ``requirements.txt`` with pip at start, from CodeArtifact when asked.

With ``CA_REPOSITORY_ARN`` set, pip uses that CodeArtifact repository's PyPI endpoint with a
fresh token (boto3 is imported only then).
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any, Optional, Tuple

from sagemaker_inference import parameters
from sagemaker_inference.environment import bad_value
from sagemaker_inference.logging import get_logger

logger = get_logger()

ARN_FORMAT = "arn:<partition>:codeartifact:<region>:<account>:repository/<domain>/<repository>"


def _parse_arn(arn: str) -> Tuple[str, str, str, str]:
    """(region, owner, domain, repository) of a CodeArtifact repository ARN; ValueError else."""
    parts = arn.split(":")
    if (
        len(parts) != 6
        or parts[0] != "arn"
        or parts[2] != "codeartifact"
        or not all(parts[1:5])
        or not parts[5].startswith("repository/")
        or parts[5].count("/") != 2
        or not all(parts[5].split("/"))
    ):
        raise bad_value(parameters.CA_REPOSITORY_ARN_ENV, arn, ARN_FORMAT)
    _, domain, repository = parts[5].split("/")
    return parts[3], parts[4], domain, repository


def _codeartifact_client(region: str) -> Any:
    try:
        import boto3
    except ImportError:
        raise ValueError(
            "CA_REPOSITORY_ARN is set but boto3 is not installed; "
            "pip install 'sagemaker-inference[codeartifact]'"
        ) from None
    return boto3.client("codeartifact", region_name=region)


def codeartifact_index(arn: str, client: Any = None) -> str:
    """pip index URL, with a fresh token, for the CodeArtifact repository ``arn`` names.

    The URL is the repository's own PyPI endpoint as CodeArtifact reports it
    (``get_repository_endpoint``, right in every partition), with ``simple/`` appended and the
    token as the password. ``client`` is a boto3 CodeArtifact client; by default one is made for
    the ARN's region.
    """
    region, owner, domain, repository = _parse_arn(arn or "")
    if client is None:
        client = _codeartifact_client(region)
    logger.info(
        "Installing from CodeArtifact repository %s of domain %s (owner %s, region %s)",
        repository,
        domain,
        owner,
        region,
    )
    token = client.get_authorization_token(domain=domain, domainOwner=owner)["authorizationToken"]
    endpoint = client.get_repository_endpoint(
        domain=domain, domainOwner=owner, repository=repository, format="pypi"
    )["repositoryEndpoint"]
    scheme, separator, rest = endpoint.partition("://")
    if not separator or not rest:
        raise ValueError("CodeArtifact returned an unusable endpoint {!r}".format(endpoint))
    return "{}://aws:{}@{}/simple/".format(scheme, token, rest.rstrip("/"))


def install(path: str, ca_repository_arn: Optional[str] = None) -> None:
    """pip install ``path`` (relative paths in it resolve against its directory); ValueError
    when pip fails."""
    logger.info("Installing packages from %s", path)
    cmd = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
    cmd += ["-r", path]
    shown = list(cmd)
    if ca_repository_arn:
        cmd += ["-i", codeartifact_index(ca_repository_arn)]
        shown += ["-i", "<CodeArtifact index>"]
    logger.info("Running: %s", " ".join(shown))
    try:
        subprocess.check_call(cmd, cwd=os.path.dirname(os.path.abspath(path)))
    except subprocess.CalledProcessError:
        logger.error("Failed to install the packages of %s", path)
        raise ValueError("failed to install required packages")

import subprocess
import sys

import pytest

from sagemaker_inference import requirements


class FakeClient:
    def __init__(self, endpoint="https://d.example/pypi/repo/"):
        self.endpoint = endpoint

    def get_authorization_token(self, domain, domainOwner):
        return {"authorizationToken": "T"}

    def get_repository_endpoint(self, domain, domainOwner, repository, format):
        return {"repositoryEndpoint": self.endpoint}


ARN = "arn:aws:codeartifact:eu-west-1:123456789012:repository/dom/repo"


def test_codeartifact_index_from_an_arn():
    assert requirements.codeartifact_index(ARN, FakeClient()) == (
        "https://aws:T@d.example/pypi/repo/simple/"
    )


@pytest.mark.parametrize("arn", ["", "arn:aws:s3:::bucket", ARN.replace("/repo", "")])
def test_bad_arn_has_the_settings_error_style(arn):
    with pytest.raises(ValueError) as info:
        requirements.codeartifact_index(arn, FakeClient())
    assert str(info.value).startswith("CA_REPOSITORY_ARN={!r}: expected arn:".format(arn))


def test_unusable_endpoint():
    with pytest.raises(ValueError, match="unusable endpoint"):
        requirements.codeartifact_index(ARN, FakeClient("no-scheme"))


def test_install_runs_pip_in_the_file_directory(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(subprocess, "check_call", lambda cmd, cwd=None: calls.append((cmd, cwd)))
    requirements.install(str(tmp_path / "requirements.txt"))
    cmd, cwd = calls[0]
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"]
    assert cmd[-2:] == ["-r", str(tmp_path / "requirements.txt")] and cwd == str(tmp_path)


def test_install_failure_is_value_error(monkeypatch, tmp_path):
    def fail(cmd, cwd=None):
        raise subprocess.CalledProcessError(1, cmd)

    monkeypatch.setattr(subprocess, "check_call", fail)
    with pytest.raises(ValueError, match="failed to install required packages"):
        requirements.install(str(tmp_path / "requirements.txt"))

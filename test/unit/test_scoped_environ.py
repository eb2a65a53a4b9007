"""scoped_environ: variables set for a block and put back afterwards."""

import os

import pytest

from sagemaker_inference.scoped_environ import scoped_environ


def test_values_are_set_inside_and_restored_after(monkeypatch):
    monkeypatch.setenv("SCOPED_A", "old")
    monkeypatch.delenv("SCOPED_B", raising=False)
    with scoped_environ({"SCOPED_A": "new", "SCOPED_B": "b"}):
        assert (os.environ["SCOPED_A"], os.environ["SCOPED_B"]) == ("new", "b")
    assert os.environ["SCOPED_A"] == "old"
    assert "SCOPED_B" not in os.environ


def test_restored_after_an_exception_and_other_changes_are_kept(monkeypatch):
    monkeypatch.delenv("SCOPED_A", raising=False)
    monkeypatch.delenv("SCOPED_OTHER", raising=False)
    with pytest.raises(RuntimeError):
        with scoped_environ({"SCOPED_A": "a"}):
            monkeypatch.setenv("SCOPED_OTHER", "kept")
            raise RuntimeError("boom")
    assert "SCOPED_A" not in os.environ
    assert os.environ["SCOPED_OTHER"] == "kept"


def test_nothing_to_set_changes_nothing():
    before = dict(os.environ)
    with scoped_environ({}):
        assert dict(os.environ) == before
    assert dict(os.environ) == before

from sagemaker_inference import worker_env


def test_python_path_puts_the_code_dir_first_once():
    assert worker_env.python_path_with("/code", None) == "/code"
    assert worker_env.python_path_with("/code", "/a:/b") == "/code:/a:/b"
    assert worker_env.python_path_with("/code", "/a:/code") == "/a:/code"


def test_for_mms_copies_and_sets_the_failure_file():
    base = {"PYTHONPATH": "/a", "SAGEMAKER_LOAD_FAILURE_FILE": "/stale", "X": "1"}
    env = worker_env.for_mms(base, "/code", "/state/load-failures")
    assert env == {
        "PYTHONPATH": "/code:/a",
        "SAGEMAKER_LOAD_FAILURE_FILE": "/state/load-failures",
        "X": "1",
    }
    assert base["PYTHONPATH"] == "/a"
    assert "SAGEMAKER_LOAD_FAILURE_FILE" not in worker_env.for_mms(base, "/code", None)

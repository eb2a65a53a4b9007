import logging

import pytest

from sagemaker_inference import logging as sm_logging


@pytest.fixture
def library_logger():
    logger = logging.getLogger("sagemaker-inference")
    saved = (logger.level, list(logger.handlers), logger.propagate)
    yield logger
    logger.setLevel(saved[0])
    logger.handlers[:] = saved[1]
    logger.propagate = saved[2]


def test_get_logger_name():
    assert sm_logging.get_logger() is logging.getLogger("sagemaker-inference")


@pytest.mark.parametrize(
    "value, level",
    [
        ("debug", logging.DEBUG),
        ("WARNING", logging.WARNING),
        ("warn", logging.WARNING),
        ("10", logging.DEBUG),
        (" 40 ", logging.ERROR),
        (30, logging.WARNING),
        ("", logging.INFO),
        (None, logging.INFO),
    ],
)
def test_parse_level_names_and_numbers(value, level):
    assert sm_logging.parse_level(value) == level


def test_parse_level_rejects_garbage():
    with pytest.raises(ValueError):
        sm_logging.parse_level("loud")


def test_configure_from_env_is_idempotent(monkeypatch, library_logger):
    monkeypatch.setenv("SAGEMAKER_CONTAINER_LOG_LEVEL", "ERROR")
    sm_logging.configure_logger()
    sm_logging.configure_logger()
    assert library_logger.level == logging.ERROR
    ours = [h for h in library_logger.handlers if getattr(h, "_sagemaker_inference", False)]
    assert len(ours) == 1
    assert library_logger.propagate is False


def test_configure_with_explicit_level(library_logger):
    sm_logging.configure_logger("debug")
    assert library_logger.level == logging.DEBUG


def test_bad_env_level_falls_back_to_info(monkeypatch, library_logger):
    monkeypatch.setenv("SAGEMAKER_CONTAINER_LOG_LEVEL", "chatty")
    assert sm_logging.configure_logger().level == logging.INFO

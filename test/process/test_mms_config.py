"""mms_config's port probe on real sockets (moved from test/unit)."""

from sagemaker_inference import mms_config


def test_free_port_below_mms_limit():
    for _ in range(5):
        assert mms_config.MIN_RANDOM_PORT <= mms_config.free_port() < mms_config.MAX_MMS_PORT

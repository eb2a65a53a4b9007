from sagemaker_inference import parameters


def test_1_10_1_names_and_values():
    assert parameters.BASE_PATH_ENV == "SAGEMAKER_BASE_DIR"
    assert parameters.USER_PROGRAM_ENV == "SAGEMAKER_PROGRAM"
    assert parameters.LOG_LEVEL_ENV == "SAGEMAKER_CONTAINER_LOG_LEVEL"
    assert parameters.DEFAULT_INVOCATIONS_ACCEPT_ENV == "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"
    assert parameters.MODEL_SERVER_WORKERS_ENV == "SAGEMAKER_MODEL_SERVER_WORKERS"
    assert parameters.MODEL_SERVER_TIMEOUT_ENV == "SAGEMAKER_MODEL_SERVER_TIMEOUT"
    assert parameters.MODEL_SERVER_TIMEOUT_SECONDS_ENV == "SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS"
    assert parameters.MODEL_SERVER_VMARGS == "SAGEMAKER_MODEL_SERVER_VMARGS"
    assert parameters.STARTUP_TIMEOUT_ENV == "SAGEMAKER_STARTUP_TIMEOUT"
    assert parameters.BIND_TO_PORT_ENV == "SAGEMAKER_BIND_TO_PORT"
    assert parameters.SAFE_PORT_RANGE_ENV == "SAGEMAKER_SAFE_PORT_RANGE"
    assert parameters.MULTI_MODEL_ENV == "SAGEMAKER_MULTI_MODEL"
    assert parameters.MAX_REQUEST_SIZE == "SAGEMAKER_MAX_PAYLOAD_IN_MB"


def test_added_variables_keep_the_sagemaker_prefix():
    names = [
        value
        for key, value in vars(parameters).items()
        if key.isupper() and isinstance(value, str) and key != "CA_REPOSITORY_ARN_ENV"
    ]
    assert names and all(name.startswith("SAGEMAKER_") for name in names)
    assert parameters.RETURN_TRACEBACK_ENV == "SAGEMAKER_RETURN_TRACEBACK"
    assert parameters.LOAD_FAILURE_FILE_ENV == "SAGEMAKER_LOAD_FAILURE_FILE"
    assert parameters.CA_REPOSITORY_ARN_ENV == "CA_REPOSITORY_ARN"

"""Starts this project through its own start_model_server, as a serving container would.

Run with the project's virtual environment's python; benchmarks/run.py sets SAGEMAKER_BASE_DIR,
SAGEMAKER_BIND_TO_PORT, SAGEMAKER_MODEL_SERVER_WORKERS, a TMPDIR of its own and runs it from the
state directory.
"""

from sagemaker_inference import model_server


def main():
    model_server.start_model_server()


if __name__ == "__main__":
    main()

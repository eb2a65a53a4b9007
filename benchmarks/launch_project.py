"""Starts this project through its own start_model_server, as a serving container would.

Run with the project's virtual environment's python; benchmarks/run.py sets SAGEMAKER_BASE_DIR,
SAGEMAKER_BIND_TO_PORT, SAGEMAKER_MODEL_SERVER_WORKERS, a TMPDIR of its own and runs it from the
state directory. ``--handler-service MODULE`` serves another handler service (the ceiling stack's
benchmarks/ceiling_handler.py, with benchmarks/ on PYTHONPATH).
"""

import argparse

from sagemaker_inference import model_server


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--handler-service", default=model_server.DEFAULT_HANDLER_SERVICE)
    args = parser.parse_args()
    model_server.start_model_server(handler_service=args.handler_service)


if __name__ == "__main__":
    main()

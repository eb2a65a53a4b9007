"""Starts sagemaker-inference 1.10.1 through its own start_model_server, as its users do.

Run with the 1.10.1 virtual environment's python; benchmarks/run.py sets SAGEMAKER_BASE_DIR,
SAGEMAKER_BIND_TO_PORT, SAGEMAKER_MODEL_SERVER_WORKERS and a TMPDIR of its own.

Two module attributes are redirected so the benchmark can run beside other MMS instances on the
same machine; neither is on the request path:
- MMS_CONFIG_FILE (normally /etc/sagemaker-mms.properties) goes to the state directory, so that
  parallel test runs do not overwrite each other's configuration;
- _retrieve_mms_server_process only considers the Java process started with that configuration
  file (1.10.1 refuses to start when any other MMS runs on the machine).
"""

import argparse
import os

import psutil

from sagemaker_inference import model_server


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--state-dir", required=True)
    args = parser.parse_args()
    config_file = os.path.join(args.state_dir, "sagemaker-mms.properties")
    model_server.MMS_CONFIG_FILE = config_file

    def retrieve_own_mms_process():
        for process in psutil.process_iter():
            try:
                if process.status() == psutil.STATUS_ZOMBIE:
                    continue
                cmdline = process.cmdline()
            except psutil.Error:
                continue
            if model_server.MMS_NAMESPACE in cmdline and config_file in cmdline:
                return process
        raise Exception("mms model server was unsuccessfully started")

    model_server._retrieve_mms_server_process = retrieve_own_mms_process
    model_server.start_model_server()


if __name__ == "__main__":
    main()

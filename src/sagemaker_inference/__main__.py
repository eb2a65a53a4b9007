"""``python -m sagemaker_inference``: the same command as the ``sagemaker-inference`` script."""

import sys

from sagemaker_inference.cli import main

if __name__ == "__main__":
    sys.exit(main())

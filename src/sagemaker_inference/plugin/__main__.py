import sys

from sagemaker_inference.plugin import main

sys.exit(main())

"""Packaging for sagemaker-inference: the Python side of a SageMaker serving container."""

import os

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _read(name: str) -> str:
    with open(os.path.join(HERE, name), encoding="utf-8") as handle:
        return handle.read()


setup(
    name="sagemaker-inference",
    version="2.0.0.dev0",
    description="Serve machine learning models under Amazon SageMaker's hosting contract "
    "with Multi Model Server as the HTTP front end.",
    long_description=_read("README.md"),
    long_description_content_type="text/markdown",
    license="Apache License 2.0",
    packages=find_packages(where="src", exclude=("test",)),
    package_dir={"": "src"},
    package_data={
        "sagemaker_inference": ["etc/*"],
        "sagemaker_inference.plugin": [
            "java-src/**/*.java",
            "java-src/META-INF/services/*",
            "lib/*/*.jar",
        ],
    },
    include_package_data=True,
    python_requires=">=3.9",
    install_requires=[
        "multi-model-server>=1.1.11",
        "retrying",
        "psutil",
        "numpy",
        "scipy",
        "six",
        # The JSON, CSV and JSON Lines codecs' fast path; without it they fall back to the
        # standard library with identical results (for platforms orjson has no wheel for).
        "orjson",
    ],
    extras_require={
        "test": [
            "pytest",
            "pytest-timeout",
            "hypothesis",
            "requests",
            "flake8",
            "black",
        ],
        # Kept so that `pip install sagemaker-inference[fast]` still works: orjson is now a
        # regular dependency.
        "fast": ["orjson"],
        "codeartifact": ["boto3"],
    },
    entry_points={
        "console_scripts": [
            "sagemaker-inference=sagemaker_inference.cli:main",
        ]
    },
    classifiers=[
        "Development Status :: 4 - Beta",
        "Intended Audience :: Developers",
        "License :: OSI Approved :: Apache Software License",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.9",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
    ],
)

"""Serve a model plus a user's ``inference.py`` under SageMaker's hosting contract."""

__version__ = "2.0.0.dev0"

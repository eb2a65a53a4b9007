"""Tests that start processes, send signals or open sockets (test/unit stays pure).

A package, so that its files may share their basenames with test/unit (one file per module).
"""

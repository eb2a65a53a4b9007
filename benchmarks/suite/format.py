"""The two number helpers every table uses."""

import statistics
from typing import Iterable, Optional


def median(values: Iterable[Optional[float]]) -> Optional[float]:
    """Median of the values that are not None; None when there are none."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def fmt(value: Optional[float], pattern: str = "%.1f", missing: str = "n/a") -> str:
    return missing if value is None else pattern % value

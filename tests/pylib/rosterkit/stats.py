"""Statistics of samples (latencies): one percentile definition for every benchmark.

The definition is the **nearest rank**: the p-th percentile of n sorted samples is the sample at
rank ceil(p / 100 * n) (1-based; rank 1 for p = 0). It is always one of the measured values, never
an interpolation between two, and the median of an even number of samples is the lower of the two
middle ones. bench/RESULTS.md says so too; every table there goes through this function.
"""

import math
from fractions import Fraction


def percentile(values, p):
    """Nearest-rank p-th percentile (p in 0..100) of a list of numbers; None if it is empty."""
    if not values:
        return None
    if not 0 <= p <= 100:
        raise ValueError(f"percentile {p} is not in 0..100")
    v = sorted(values)
    # Exact arithmetic: 90 / 100 * 10 must be 9, not 9.000000000000002 (which would round up to 10).
    rank = math.ceil(Fraction(str(p)) * len(v) / 100)
    return v[min(len(v), max(1, rank)) - 1]


def median(values):
    """The nearest-rank median (the lower middle sample of an even count); None if empty."""
    return percentile(values, 50)


def summary(values):
    """n, min, median, p90, p99 and max of a list of numbers ({"n": 0} if it is empty)."""
    if not values:
        return {"n": 0}
    return {"n": len(values), "min": min(values), "median": percentile(values, 50),
            "p90": percentile(values, 90), "p99": percentile(values, 99), "max": max(values)}

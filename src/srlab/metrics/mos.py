"""Mean opinion score (MOS) with its 95% confidence interval, as SR papers report their rating studies."""

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from scipy.stats import t as student_t


@dataclass
class MOS:
    """Mean of `count` scores; `half_width` of the 95% interval (Student's t with count - 1 degrees of
    freedom, NaN below two scores), `std` the sample standard deviation."""

    mean: float
    std: float
    count: int
    half_width: float

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width


def mean_opinion_score(scores: Sequence[float], confidence: float = 0.95) -> MOS:
    """MOS of `scores` and its two-sided `confidence` interval, mean ± t(1 - a/2, n - 1) s / sqrt(n).

    The interval treats the scores as independent draws; ratings of one rater or one image are correlated,
    so with few raters it is narrower than the spread between raters would give."""
    if not scores:
        raise ValueError("no scores to average")
    n = len(scores)
    mean = statistics.fmean(scores)
    if n < 2:
        return MOS(mean, math.nan, n, math.nan)
    std = statistics.stdev(scores)
    half_width = float(student_t.ppf(1 - (1 - confidence) / 2, n - 1)) * std / math.sqrt(n)
    return MOS(mean, std, n, half_width)

"""The two-proportion comparison correlate ranks by, for one pair of counts at a time
(``changes`` compares a bad ratio before and after a release, ``patterns`` a template's
share in two periods)."""

from __future__ import annotations

import math
from dataclasses import dataclass

#: z for the 99% confidence bound (as correlate's score).
Z_99 = 2.5758


@dataclass(frozen=True)
class ProportionShift:
    """``p1 - p2`` for ``x1/n1`` against ``x2/n2``: the pooled two-proportion z statistic
    (as correlate's ``z``) and the difference's 99% confidence interval (its lower end
    positive: higher with confidence, as correlate's score says)."""

    p1: float
    p2: float
    z: float
    lower: float
    upper: float

    @property
    def significant(self) -> bool:
        """The difference's 99% interval leaves out zero."""
        return self.lower > 0 or self.upper < 0


def two_proportions(x1: float, n1: float, x2: float, n2: float) -> ProportionShift | None:
    """Compare ``x1`` of ``n1`` with ``x2`` of ``n2`` (None when either side is empty)."""
    if n1 <= 0 or n2 <= 0:
        return None
    p1, p2 = x1 / n1, x2 / n2
    # The interval is Agresti and Caffo's (one success and one failure added to each
    # side): the plain normal interval is far too narrow when a side has no bad events.
    q1, q2 = (x1 + 1) / (n1 + 2), (x2 + 1) / (n2 + 2)
    spread = math.sqrt(q1 * (1 - q1) / (n1 + 2) + q2 * (1 - q2) / (n2 + 2))
    pooled = (x1 + x2) / (n1 + n2)
    pooled_se = math.sqrt(max(pooled * (1 - pooled), 0.0) * (1 / n1 + 1 / n2))
    z = (p1 - p2) / pooled_se if pooled_se > 0 else 0.0
    adjusted = q1 - q2
    return ProportionShift(p1, p2, z, adjusted - Z_99 * spread, adjusted + Z_99 * spread)

"""Inter-rater agreement: Krippendorff's alpha, ordinal, computed by the maintained ``krippendorff``
package (``pip install 'qxbench[study]'``)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from qxbench.errors import QxError


def ordinal_alpha(reliability: Sequence[Sequence[float]]) -> float:
    """Alpha over a raters x units matrix (NaN = not rated). NaN when it is undefined: fewer than two
    ratings on every unit (nothing to pair), or every paired rating the same value (no variance to explain,
    the package refuses it)."""
    rows = [list(r) for r in reliability]
    units = [u for u in zip(*rows, strict=True) if sum(not math.isnan(v) for v in u) >= 2] if rows else []
    values = {v for u in units for v in u if not math.isnan(v)}  # only paired ratings count
    if not units or len(values) < 2:
        return math.nan
    try:
        import krippendorff
    except ImportError:
        raise QxError("Inter-rater agreement needs the krippendorff package (pip install 'qxbench[study]')") from None
    import numpy as np

    return float(krippendorff.alpha(reliability_data=np.asarray(rows, dtype=float), level_of_measurement="ordinal"))

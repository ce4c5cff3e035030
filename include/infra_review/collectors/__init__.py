"""One module per source. Each collector returns a samples frame for [start, end):
columns ts (UTC), server, metric, label, value. Collectors only read; loading is shared."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pandas as pd

# type -> function(server_name, source_config, start, end) -> samples frame
Collector = Callable[[str, dict[str, Any], datetime, datetime], pd.DataFrame]


def registry() -> dict[str, Collector]:
    """Collectors by source ``type`` in fleet.yaml; imported lazily so one missing client
    library does not stop the others."""
    from infra_review.collectors import localhost

    return {"localhost": localhost.collect}

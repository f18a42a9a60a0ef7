"""The one canonical JSON spelling: sorted keys, no spaces, non-ASCII kept as is.

Instruction parameters are stored, hashed and compared in this form everywhere (rows, plans, cache keys), so two
equal parameter sets always have the same text.
"""

from __future__ import annotations

import json
from typing import Any


def canonical_json(value: Any) -> str:
    """``value`` as canonical JSON (``sort_keys``, separators ``(",", ":")``)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))

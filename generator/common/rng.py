"""Per-item random number generators derived by hashing, never by arithmetic on the seed.

Every random choice in the toolkit comes from ``derive_rng(seed, split, stream, index, ...)``. Hashing the whole key
with BLAKE2b makes neighbouring seeds and neighbouring items statistically unrelated (``seed + index`` would make
seed 7 item 1 equal seed 8 item 0), and makes each item independent of how work is split across processes.
"""

from __future__ import annotations

import hashlib
import random

_KEY_SEPARATOR = "\x1f"


def derive_seed(*key: object) -> int:
    """Return a 64-bit integer seed from the key parts (converted with ``str``, order-sensitive)."""
    text = _KEY_SEPARATOR.join(f"{type(part).__name__}:{part}" for part in key)
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8, person=b"mmmt-if-rng").digest()
    return int.from_bytes(digest, "big")


def derive_rng(*key: object) -> random.Random:
    """Return a fresh ``random.Random`` for the key, e.g. ``derive_rng(seed, "test", "plan", 12)``."""
    return random.Random(derive_seed(*key))

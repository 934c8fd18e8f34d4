"""Seeds derived by hashing a cell's coordinates: reproducible in any order, on any worker."""

from __future__ import annotations

import hashlib


def derive_seed(*parts: object) -> int:
    """A seed in [0, 2**31) from the ordered ``parts`` (benchmark seed, dataset, ratio, ...).

    Uses SHA-256 of the parts' ``repr``, so it does not depend on Python's hash
    randomisation, the process, or the order in which cells run.
    """
    text = "\x1f".join(repr(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") % (2**31)

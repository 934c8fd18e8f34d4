"""Make the checkout's ``datasets`` folder importable, and never Hugging Face's by mistake.

``datasets/`` is not installed (that top-level name belongs to Hugging Face's package), so the
harness puts the checkout root first on ``sys.path`` and then checks that ``import datasets``
resolved to the checkout's folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import datasets as _datasets  # noqa: E402

if Path(getattr(_datasets, "__file__", "") or "").resolve().parent != ROOT / "datasets":
    raise ImportError(
        f"'datasets' resolved to {getattr(_datasets, '__file__', None)}, not {ROOT / 'datasets'}: "
        "another package named 'datasets' (Hugging Face's?) was imported first; "
        "import harness before it, or run from the suite's checkout"
    )

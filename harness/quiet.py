"""Library chatter the command line and worker processes turn off; nothing happens on import."""

from __future__ import annotations

import warnings


def libraries() -> None:
    """Optuna's per-trial log lines and its warnings about experimental TPE options (which
    the suite sets explicitly and on purpose)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

"""The report: "which loss, when?" answered from a results table — decision, statistics,
figures, literature checks, the regression gate and the published answer. No torch, no Optuna."""

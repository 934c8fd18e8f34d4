"""Tuning a cell's method with Optuna: the study, its storage, the two protocols, and summaries of
what the budget chose."""

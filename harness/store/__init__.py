"""The results store: the long-format results table (:mod:`.results`, its one reader and writer),
what a cell produced (:mod:`.records`), the run's resolved spec and provenance. No torch, no
Optuna: the report reads results through this package alone."""

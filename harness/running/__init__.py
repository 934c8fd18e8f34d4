"""Running a benchmark: one cell (:mod:`.cell`), the whole benchmark (:mod:`.benchmark`), worker
processes and executors, the ledger of finished and claimed cells, and a cell's files."""

"""Evaluating a cell's chosen configuration: the protocol (:mod:`.protocol`), post-hoc calibration
variants (binary and multi-class) and the per-cell figures."""

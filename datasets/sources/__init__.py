"""Dataset sources: one module per source, each exposing ``SOURCE``."""

"""Performance scripts: each prints ratios measured side by side in one run (not timed tests)."""

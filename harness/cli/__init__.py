"""The command line's commands (``runner.py``): the top layer, over running and the report."""

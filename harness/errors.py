"""Errors that reach the user as one line and exit code 2."""


class UserError(Exception):
    """A mistake in the user's input (spec, data, options): printed as one line, exit code 2."""

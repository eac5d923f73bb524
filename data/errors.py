"""Errors about user-supplied data: each message names the file (and line) and what to do."""


class DataError(Exception):
    """Bad or missing input data. The message is one line, fit to show a user as is."""

"""Errors a user can cause and fix. The CLI prints their message alone, without a traceback."""


class ReproError(RuntimeError):
    """A problem with the user's input or environment; the message names the fix."""

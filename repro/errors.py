"""Errors a user can cause and fix. The CLI prints their message alone, without a traceback."""


class ReproError(RuntimeError):
    """A problem with the user's input or environment; the message names the fix."""


class ConfigValueError(ReproError, ValueError):
    """A config value out of its valid range (width 0, a noise rate of 1.5): a ``ValueError`` too."""

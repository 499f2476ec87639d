"""The ``repro`` command (``repro.cli.main``): the study commands (``studies``), the engine commands
(``engines``) and what they share (``args``)."""

from repro.cli.main import main

__all__ = ["main"]

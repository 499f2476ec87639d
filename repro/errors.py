"""Errors a user can cause and fix. The CLI prints their message alone, without a traceback."""


class ReproError(RuntimeError):
    """A problem with the user's input or environment; the message names the fix."""


class ConfigValueError(ReproError, ValueError):
    """A config value out of its valid range (width 0, a noise rate of 1.5): a ``ValueError`` too."""


class Interrupted(BaseException):  # noqa: N818 (what the user did, not an error)
    """Ctrl-C (SIGINT) in a ``repro`` process: a BaseException, so no ``except Exception`` swallows it, and not a
    KeyboardInterrupt, which Lightning turns into ``sys.exit(1)``; Lightning tears the run down and re-raises it."""


INTERRUPTED_HINT = "interrupted; rerun the same command to resume"


def raise_interrupted(signum, frame) -> None:
    raise Interrupted()


DISK_FULL_HINT = ("the disk is full or a file-size limit was reached; free space and rerun (finished runs and "
                  "checkpoints are kept, an unfinished run resumes from its last checkpoint)")


def is_disk_full(err: BaseException) -> bool:
    import errno

    return isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def import_object(path: str, *, what: str = "object"):
    """``package.module.name`` → the object, with one clear error when the module or name is missing."""
    import importlib

    module_name, _, attr = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ReproError(f"{what} {path!r}: cannot import {module_name!r} ({err})") from err
    try:
        return getattr(module, attr)
    except AttributeError as err:
        raise ReproError(f"{what} {path!r}: {module_name} has no {attr!r}") from err

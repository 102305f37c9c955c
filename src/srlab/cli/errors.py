"""How the entry points end on an error: a line naming the file, option or value and the fix, a non-zero
exit, and the traceback only when asked for (`SRLAB_DEBUG=1` or Hydra's own `HYDRA_FULL_ERROR=1`)."""

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from hydra._internal.utils import get_args_parser  # the parser of @hydra.main: its flags are skipped alike
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException, InstantiationException

log = logging.getLogger("srlab")
DEBUG_HINT = "SRLAB_DEBUG=1 prints the full traceback"


def debugging() -> bool:
    """Whether errors should surface with their traceback."""
    return any(os.environ.get(name, "") not in ("", "0") for name in ("SRLAB_DEBUG", "HYDRA_FULL_ERROR"))


def describe(err: BaseException) -> str:
    """The message a user acts on. Hydra wraps errors raised while building an object in an
    `InstantiationException` ("Error in call to target ...", then `full_key: data`); the cause is what
    went wrong, and the key says which group it came from when the cause does not. A DataLoader
    worker's error carries the worker's traceback; only its last line is kept."""
    group = ""
    while isinstance(err, InstantiationException) and err.__cause__ is not None:
        group = str(err).rpartition("full_key: ")[2].strip() or group
        err = err.__cause__
    message = str(err).strip() or type(err).__name__
    if "\nOriginal Traceback" in message:  # raised in a DataLoader worker: its last line is the error itself
        message = message.splitlines()[-1].removeprefix(f"{type(err).__name__}: ")
    if not isinstance(err, OSError | ValueError | TypeError | LookupError):  # not an error about the input
        message = f"{type(err).__name__}: {message}"
    return f"{group}: {message}" if group and not message.startswith(group) else message


@contextmanager
def reported_errors() -> Iterator[None]:
    """Around the body of a Hydra task function (where Hydra has set up the run's log file): an exception
    becomes one logged line and exit status 1, Ctrl-C outside training exit status 130 (inside, Lightning
    exits with 1 after `CheckpointOnStop` has written last.ckpt); W&B is closed either way."""
    failed = True
    try:
        yield
        failed = False
    except KeyboardInterrupt:
        if debugging():
            raise
        log.error("interrupted (Ctrl-C) outside training: no checkpoint was written at the interrupt")
        raise SystemExit(130) from None
    except Exception as err:
        if debugging():
            raise
        log.error("%s", describe(err))
        log.info(DEBUG_HINT)
        raise SystemExit(1) from None
    finally:
        _finish_wandb(failed)


def _finish_wandb(failed: bool) -> None:
    """Close a W&B run, so a multirun's next job starts its own and a failed one is marked failed."""
    wandb = sys.modules.get("wandb")
    if wandb is not None and getattr(wandb, "run", None) is not None:
        wandb.finish(exit_code=1 if failed else 0)


def check_command_line() -> None:
    """Before Hydra reads the command line: `SRLAB_DEBUG=1` implies `HYDRA_FULL_ERROR=1`, and an override
    that Hydra cannot parse is named (Hydra's own message quotes only the character it stopped at)."""
    if os.environ.get("SRLAB_DEBUG", "") not in ("", "0"):
        os.environ.setdefault("HYDRA_FULL_ERROR", "1")
    parser = OverridesParser.create()
    for override in get_args_parser().parse_known_args()[0].overrides:
        try:
            parser.parse_override(override)
        except HydraException as err:
            reason = str(err).splitlines()[0]
            sys.stderr.write(
                f"override {override!r} is not valid: {reason}. Quote the whole override when it holds brackets, "
                "braces or spaces, e.g. 'data.val={mine:[path/to/images]}' "
                "(https://hydra.cc/docs/advanced/override_grammar/basic)\n"
            )
            raise SystemExit(1) from None

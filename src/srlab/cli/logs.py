"""Notices through `logging`: Hydra's job logging (conf/hydra/default.yaml) sends them to the console and
to `<run dir>/<task>.log`; under DDP only rank 0's, and every process's warnings and errors."""

import io
import logging
import sys

from lightning.pytorch.utilities import rank_zero_only
from rich.console import Console, RenderableType


class RankZero(logging.Filter):
    """Lets through the records of rank 0 (one process, or DDP's first), and warnings and errors of any rank."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or getattr(rank_zero_only, "rank", 0) == 0


class Stdout(logging.StreamHandler):
    """Writes each record to `sys.stdout` as it is then: while a rich progress bar redirects it, lines appear
    above the bar instead of through it."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def as_text(renderable: RenderableType, width: int = 120) -> str:
    """A rich table (or any renderable) as plain text, to log it."""
    console = Console(file=io.StringIO(), width=width, record=True)
    console.print(renderable)
    return console.export_text().rstrip()

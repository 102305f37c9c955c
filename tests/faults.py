"""Faults that tests inject into real runs (importable by `train.py` subprocesses with PYTHONPATH=tests)."""

import torch


class NaNAfter(torch.nn.L1Loss):
    """L1 for the first `calls` training calls, then NaN."""

    def __init__(self, calls: int) -> None:
        super().__init__()
        self.calls, self.seen = calls, 0

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        self.seen += 1
        loss = super().forward(sr, hr)
        return loss * float("nan") if self.seen > self.calls else loss

"""Losses for networks with several outputs (LapSRN's pyramid levels, DRCN's recursions)."""

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from srlab.ops import imresize


class MultiOutputLoss(nn.Module):
    """sum_i weights[i] * loss(outputs[i], target at outputs[i]'s size).

    A net in training mode may return a list `[intermediate..., final]`; a single tensor is scored
    with `loss` alone. A target larger than an output is bicubic-downscaled to it (LapSRN supervises
    its x2 level with the HR image at x2). With `anneal_steps`, the weights move linearly from
    `weights` to `final_weights` over that many training steps (DRCN decays the weight of its
    intermediate predictions); the step count is a buffer, so it survives a resume.
    """

    def __init__(
        self,
        loss: nn.Module,
        weights: Sequence[float] | None = None,
        final_weights: Sequence[float] | None = None,
        anneal_steps: int = 0,
    ) -> None:
        super().__init__()
        if final_weights is not None and (weights is None or len(final_weights) != len(weights)):
            raise ValueError("MultiOutputLoss: final_weights needs weights of the same length")
        self.loss, self.anneal_steps = loss, anneal_steps
        self.weights = None if weights is None else list(weights)
        self.final_weights = self.weights if final_weights is None else list(final_weights)
        self.register_buffer("step", torch.zeros((), dtype=torch.long))

    def current_weights(self, n: int) -> list[float]:
        if self.weights is None:
            return [1.0] * n
        if len(self.weights) != n:
            raise ValueError(f"MultiOutputLoss has {len(self.weights)} weights but the net returned {n} outputs")
        t = min(int(self.step) / self.anneal_steps, 1.0) if self.anneal_steps > 0 else 0.0
        return [(1 - t) * a + t * b for a, b in zip(self.weights, self.final_weights)]

    def forward(self, outputs: Tensor | Sequence[Tensor], target: Tensor) -> Tensor:
        if isinstance(outputs, Tensor):
            return self.loss(outputs, target)
        weights = self.current_weights(len(outputs))
        if self.training:
            self.step += 1
        total = outputs[0].new_zeros(())
        for w, out in zip(weights, outputs):
            t = target if out.shape[-2:] == target.shape[-2:] else imresize(target, out.shape[-2] / target.shape[-2])
            total = total + w * self.loss(out, t)
        return total

"""Training throughput (it/s) of FSRCNN x3 on a folder of HR images, each way of feeding it side by side.

    python scripts/bench_train_speed.py data/T91                 # every case, 200 timed steps each
    python scripts/bench_train_speed.py data/T91 --only bank loader plain

Cases (batch 32 of 16x16 LR patches, L1, Adam 2e-3, FP32 on the CPU unless the case says otherwise):
- `loader`: srlab's Lightning run with the worker loader (`data.bank=false`, 2 workers, LR made per batch);
- `bank`: srlab's Lightning run with the patch bank (`data.bank=true`);
- `plain`: a plain PyTorch loop, numpy crops in the main process and `F.interpolate` bicubic LR;
- `plain-bank`: a plain PyTorch loop over the same patch bank (what Lightning adds is the difference);
- variants of `plain-bank`: `channels-last`, `compile` (torch.compile), `threads1`, `subpixel` (FSRCNN's
  stride-s deconvolution rewritten as an equivalent convolution + pixel shuffle), `batch64`, `patch24`.
Run on an idle machine; each case is timed after 20 warm-up steps.
"""

import argparse
import time
from pathlib import Path

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from srlab.data import SRDataModule
from srlab.data.bank import PatchBank
from srlab.data.images import list_images, read_image
from srlab.models import FSRCNN
from srlab.models.blocks import deconv_as_subpixel
from srlab.ops import rgb_to_y
from srlab.systems import SRSystem
from srlab.systems.optim import make_optimizer

WARMUP = 20


def plain_steps(net: nn.Module, batches, steps: int, memory_format=torch.contiguous_format) -> float:
    """it/s of a bare training loop over `batches()` -> (lr, hr) RGB in [0, 1]."""
    opt = torch.optim.Adam(net.parameters(), 2e-3)
    for i in range(WARMUP + steps):
        if i == WARMUP:
            start = time.perf_counter()
        lr, hr = batches()
        lr = rgb_to_y(lr).contiguous(memory_format=memory_format)
        loss = F.l1_loss(net(lr), rgb_to_y(hr))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return steps / (time.perf_counter() - start)


class _Timer(L.Callback):
    def on_train_batch_start(self, trainer, *args) -> None:
        if trainer.global_step == WARMUP:
            self.start = time.perf_counter()

    def on_train_end(self, trainer, *args) -> None:
        self.rate = (trainer.global_step - WARMUP) / (time.perf_counter() - self.start)


def lightning_steps(folder: Path, bank: bool, steps: int, batch: int, patch: int) -> float:
    """it/s of srlab's own Lightning run, as `train.py` builds it (no validation, no logger)."""
    data = SRDataModule(3, [str(folder)], {"val": [str(folder)]}, patch_size=patch, batch_size=batch,
                        steps_per_epoch=WARMUP + steps, num_workers=0 if bank else 2, bank=bank)  # fmt: skip
    system = SRSystem(FSRCNN(3), nn.L1Loss(), lambda net: make_optimizer(net, "torch.optim.Adam", lr=2e-3))
    timer = _Timer()
    trainer = L.Trainer(accelerator="cpu", max_steps=WARMUP + steps, limit_val_batches=0, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        callbacks=[timer])  # fmt: skip
    trainer.fit(system, datamodule=data)
    return timer.rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="folder of HR training images, e.g. data/T91")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--only", nargs="*", help="cases to run (default: all)")
    args = parser.parse_args()
    batch, patch, scale = 32, 16, 3
    torch.manual_seed(0)
    images = [read_image(f)[0] for f in list_images([args.folder])]
    rng = np.random.default_rng(0)

    def crops(b=batch, p=patch):  # numpy crops in the main process, LR by torch's bicubic
        hr = []
        for _ in range(b):
            img = images[rng.integers(len(images))]
            y, x = rng.integers(img.shape[0] - p * scale + 1), rng.integers(img.shape[1] - p * scale + 1)
            hr.append(img[y : y + p * scale, x : x + p * scale])
        hr = torch.from_numpy(np.stack(hr)).permute(0, 3, 1, 2).float().div_(255)
        lr = F.interpolate(hr, scale_factor=1 / scale, mode="bicubic", antialias=True).clamp_(0, 1)
        return lr.mul_(255).round_().div_(255), hr

    banks: dict[int, PatchBank] = {}

    def from_bank(b=batch, p=patch):
        if p not in banks:
            banks[p] = PatchBank(list_images([args.folder]), scale, p, p // 2)
        return lambda: tuple(banks[p].draw(b)[k] for k in ("lr", "hr"))

    cases = {
        "loader": lambda: lightning_steps(args.folder, False, args.steps, batch, patch),
        "bank": lambda: lightning_steps(args.folder, True, args.steps, batch, patch),
        "plain": lambda: plain_steps(FSRCNN(scale), crops, args.steps),
        "plain-bank": lambda: plain_steps(FSRCNN(scale), from_bank(), args.steps),
        "channels-last": lambda: plain_steps(
            FSRCNN(scale).to(memory_format=torch.channels_last), from_bank(), args.steps, torch.channels_last
        ),
        "compile": lambda: plain_steps(torch.compile(FSRCNN(scale)), from_bank(), args.steps),
        "threads1": lambda: _with_threads(1, lambda: plain_steps(FSRCNN(scale), from_bank(), args.steps)),
        "subpixel": lambda: plain_steps(_subpixel_fsrcnn(scale), from_bank(), args.steps),
        "batch64": lambda: plain_steps(FSRCNN(scale), from_bank(b=64), args.steps),
        "patch24": lambda: plain_steps(FSRCNN(scale), from_bank(p=24), args.steps),
    }
    chosen = args.only or list(cases)
    print(f"FSRCNN x{scale}, batch {batch}, {patch}x{patch} LR patches, {torch.get_num_threads()} threads, "
          f"{len(images)} images from {args.folder}, {args.steps} timed steps per case")  # fmt: skip
    print("| case | it/s | LR pixels/s |")
    print("|---|---|---|")
    for name in chosen:
        b = 64 if name == "batch64" else batch
        p = 24 if name == "patch24" else patch
        rate = cases[name]()
        print(f"| {name} | {rate:.1f} | {rate * b * p * p / 1e6:.2f} M |", flush=True)


def _with_threads(n: int, fn):
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        return fn()
    finally:
        torch.set_num_threads(old)


class _SubPixelFSRCNN(nn.Module):
    """FSRCNN whose deconvolution runs as the equivalent convolution + pixel shuffle."""

    def __init__(self, net: FSRCNN) -> None:
        super().__init__()
        self.body = nn.Sequential(net.extraction, net.shrinking, net.mapping, net.expanding)
        self.upsample = deconv_as_subpixel(net.deconvolution)

    def forward(self, x):
        return self.upsample(self.body(x))


def _subpixel_fsrcnn(scale: int) -> nn.Module:
    return _SubPixelFSRCNN(FSRCNN(scale))


if __name__ == "__main__":
    main()

"""`SRSystem`: supervised training of any network that follows the model contract."""

import copy
import random
import time
from collections.abc import Callable

import lightning as L
import numpy as np
import torch
from lightning.pytorch.trainer.states import TrainerFn
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler
from torchmetrics import MaxMetric

from srlab.metrics import SRQuality, scored_image
from srlab.metrics.lpips import build_lpips
from srlab.models.contract import check_scale, net_input, predict, to_rgb
from srlab.ops import rgb_to_y
from srlab.pretrained import load_pretrained


class NonFiniteError(FloatingPointError):
    """A training loss or gradient norm that is NaN or infinite; raised before the optimizer step."""


class SRSystem(L.LightningModule):
    """Trains `net` on (LR, HR) batches of RGB images in [0, 1] and scores it with the paper protocol.

    The net's contract decides what it is fed: the Y channel or RGB (`net.in_channels`), LR or
    bicubic-upscaled input (`net.pre_upsampled`). A Y net's output is merged with bicubic CbCr
    whenever a colour image is produced.

    Args:
        net: the network.
        loss: `(sr, hr) -> scalar`, in the net's colour space.
        optimizer: called with the net, returns its optimizer (see `srlab.systems.optim`).
        scheduler: called with the optimizer; stepped every training step.
        compile: compile the net with `torch.compile`.
        adjustable_clip: VDSR's adjustable gradient clipping: each gradient is clipped to
            [-theta / lr, theta / lr] with theta this value and lr the current learning rate.
        lpips: also log `val/lpips` (torchmetrics' LPIPS), when torchvision and its weights are there.
        pretrained: the name of a shipped weight (`srlab.pretrained`) that the net starts from.
        ema_decay: keep `net_ema`, an exponential moving average of the net's weights, from the start
            (`start_ema`; the `srlab.callbacks.EMA` callback starts it for any model).

    A non-finite loss or gradient norm stops the run before its optimizer step (`NonFiniteError`);
    `srlab.callbacks.CheckpointOnStop` then writes `last.ckpt`, the last good step.
    """

    def __init__(
        self,
        net: nn.Module,
        loss: nn.Module,
        optimizer: Callable[[nn.Module], Optimizer],
        scheduler: Callable[[Optimizer], LRScheduler] | None = None,
        compile: bool = False,
        adjustable_clip: float | None = None,
        lpips: bool = False,
        pretrained: str | None = None,
        ema_decay: float | None = None,
    ) -> None:
        super().__init__()
        if pretrained is not None:
            load_pretrained(net, pretrained)
        self.net, self.loss = net, loss
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.compile_net = compile
        self.adjustable_clip = adjustable_clip
        self.lpips = build_lpips() if lpips else None  # None, with a notice, when it cannot be built
        self.scale: int = net.scale
        self.y_only = net.in_channels == 1
        self.psnr_best = MaxMetric()
        self.psnr_best.persistent(True)  # kept in checkpoints, so a resumed run remembers its best
        self.val_names: list[str] = ["val"]
        self.net_config: dict | None = None  # the net's config, saved in checkpoints for eval.py and upscale.py
        self.net_ema: nn.Module | None = None
        self.ema_decay: float | None = None
        self._ema_step = 0  # the optimizer steps the average has seen
        if ema_decay is not None:
            self.start_ema(ema_decay)

    # --- the model contract -------------------------------------------------------------------
    def net_input(self, lr: Tensor) -> Tensor:
        """RGB LR (B, 3, h, w) -> what the net consumes: Y or RGB, at LR or HR size."""
        return net_input(self.net, lr, self.net.scale)

    def target(self, hr: Tensor) -> Tensor:
        """RGB HR -> the net's colour space."""
        return rgb_to_y(hr) if self.y_only else hr

    def to_rgb(self, sr: Tensor, bicubic: Tensor) -> Tensor:
        """The net's output as an RGB image; a Y output takes CbCr from the bicubic image."""
        return to_rgb(self.net, sr, bicubic)

    @property
    def eval_net(self) -> nn.Module:
        """The network that validation scores and image panels show: the EMA copy when there is one."""
        return self.net_ema if self.net_ema is not None else self.net

    # --- the exponential moving average of the weights ------------------------------------------
    def start_ema(self, decay: float, option: str = "model.ema_decay") -> None:
        """Keep `net_ema`, an average of the net's weights that moves `ema = decay * ema + (1 - decay) * w`
        after each optimizer step; validation scores it, checkpoints hold it as `net_ema.` (which eval.py
        and upscale.py load). It starts as a copy of the net as it is now (after `pretrained`)."""
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"{option} must be in [0, 1), got {decay}")
        self.ema_decay = decay
        if self.net_ema is None:
            self.net_ema = copy.deepcopy(self.net).requires_grad_(False)

    @torch.no_grad()
    def update_ema(self) -> None:
        """`ema = decay * ema + (1 - decay) * w` for the net's parameters; buffers (batch-norm statistics)
        are copied."""
        for ema, param in zip(self.net_ema.parameters(), self.net.parameters(), strict=True):
            ema.lerp_(param, 1.0 - self.ema_decay)
        for ema, buffer in zip(self.net_ema.buffers(), self.net.buffers(), strict=True):
            ema.copy_(buffer)

    def forward(self, lr: Tensor) -> Tensor:
        """RGB LR -> the net's output (Y or RGB) at HR size."""
        return self.net(self.net_input(lr))

    # --- training -------------------------------------------------------------------------------
    def configure_model(self) -> None:
        if self.compile_net:
            self.net.compile()

    def setup(self, stage: str) -> None:
        datamodule = getattr(self.trainer, "datamodule", None)
        names = getattr(datamodule, "test_names" if stage == "test" else "val_names", None)
        self.val_names = list(names) if names else ["val"]
        if datamodule is not None:  # every scale the data asks for, before the first step
            check_scale(self.net, datamodule.scale, f"data.scale={datamodule.scale}")
            for scale in datamodule.train_scales:
                check_scale(self.net, scale, f"data.train_scales={datamodule.train_scales}")
        # One metric per evaluation set, for the net and for the bicubic baseline.
        self.quality = nn.ModuleDict({n: SRQuality(self.scale) for n in self.val_names})
        self.quality_bicubic = nn.ModuleDict({n: SRQuality(self.scale) for n in self.val_names})

    def training_step(self, batch: dict, batch_idx: int) -> Tensor:
        # Multi-scale training: the data module picks this batch's scale (see `train_scales`).
        self.net.scale = int(batch.get("scale", self.scale))
        sr = self(batch["lr"])  # a list [intermediate..., final] for multi-output nets
        loss = self.loss(sr, self.target(batch["hr"]))
        self.check_finite("loss", loss)
        self.log("train/loss", loss, prog_bar=True, batch_size=batch["hr"].shape[0])
        return loss

    def check_finite(
        self, name: str, value: Tensor, parts: dict[str, Tensor] | None = None, step: int | None = None
    ) -> None:
        """Stop the run, on every process at once, before a non-finite `value` reaches an optimizer.

        `step`: the completed steps before this one (default `global_step`).
        """
        if self.trainer.strategy.reduce_boolean_decision(bool(torch.isfinite(value)), all=True):
            return
        step = self.global_step if step is None else step
        values = ", ".join(f"{k} = {float(v.detach()):.4g}" for k, v in (parts or {name: value}).items())
        raise NonFiniteError(
            f"non-finite {name} at training step {step + 1}: {values}. Stopped before the update; "
            f"last.ckpt holds step {step}. Try a lower optimizer.lr, trainer.gradient_clip_val=1, "
            "or loss=l1; resume with ckpt_path=<run>/checkpoints/last.ckpt and the changed options."
        )

    def on_before_optimizer_step(self, optimizer: Optimizer) -> None:
        if self.trainer.precision in ("16-mixed", "16"):  # the grad scaler skips non-finite steps itself
            return
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if grads:
            self.check_finite("gradient norm", torch.nn.utils.get_total_norm(grads))

    def on_train_start(self) -> None:
        self._ema_step = self.global_step

    def on_train_batch_end(self, outputs, batch: dict, batch_idx: int) -> None:
        self.net.scale = self.scale
        if self.ema_decay is not None and self.global_step > self._ema_step:  # once per optimizer step
            self.update_ema()
            self._ema_step = self.global_step

    def configure_gradient_clipping(
        self, optimizer: Optimizer, gradient_clip_val: float | None = None, gradient_clip_algorithm: str | None = None
    ) -> None:
        if self.adjustable_clip is None:
            self.clip_gradients(optimizer, gradient_clip_val, gradient_clip_algorithm)
            return
        # Gradients are unscaled here under mixed precision; the trainer's own clipping is replaced.
        theta_over_lr = self.adjustable_clip / optimizer.param_groups[0]["lr"]
        self.trainer.precision_plugin.clip_grad_by_value(optimizer, theta_over_lr)

    def configure_optimizers(self) -> Optimizer | dict:
        optimizer = self.optimizer_factory(self.net)
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        if self.net_config is not None:
            checkpoint["net_config"] = self.net_config
        checkpoint["rng_states"] = self._rng_states()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        fitting = self._trainer is not None and self.trainer.state.fn == TrainerFn.FITTING
        if self.net_ema is None and any(k.startswith("net_ema.") for k in checkpoint["state_dict"]):
            if fitting:
                raise ValueError(
                    "the checkpoint holds an EMA of the weights (net_ema.): resume it with callbacks.ema "
                    "(callbacks=[default,ema]) or model.ema_decay set, as the run that wrote it"
                )
            self.net_ema = copy.deepcopy(self.net).requires_grad_(False)  # scored, never updated
        # Before the first resumed step, and nothing between draws from these generators (the data
        # loaders keep their own): the run continues with the random numbers it would have drawn.
        if "rng_states" in checkpoint and fitting:
            self._set_rng_states(checkpoint["rng_states"])

    def _rng_states(self) -> dict:
        """torch's, numpy's, Python's and this device's CUDA generator states, in types `weights_only` loads."""
        numpy_state = np.random.get_state(legacy=False)  # its key, a uint32 array, goes as a tensor
        key = torch.from_numpy(numpy_state["state"]["key"].astype(np.int64))
        states = {
            "torch": torch.get_rng_state(),
            "numpy": {**numpy_state, "state": {**numpy_state["state"], "key": key}},
            "python": random.getstate(),
        }
        if self.device.type == "cuda":
            states["cuda"] = torch.cuda.get_rng_state(self.device)
        return states

    def _set_rng_states(self, states: dict) -> None:
        torch.set_rng_state(states["torch"])
        numpy_state = states["numpy"]
        key = numpy_state["state"]["key"].numpy().astype(np.uint32)
        np.random.set_state({**numpy_state, "state": {**numpy_state["state"], "key": key}})
        version, internal, gauss = states["python"]
        random.setstate((version, tuple(internal), gauss))
        device = self.trainer.strategy.root_device
        if "cuda" in states and device.type == "cuda":
            torch.cuda.set_rng_state(states["cuda"], device)

    # --- evaluation -----------------------------------------------------------------------------
    def validation_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> dict[str, Tensor]:
        lr, hr, grey = batch["lr"], batch["hr"], batch["grey"]
        out, sr_rgb, bicubic = predict(self.eval_net, lr)
        scored = scored_image(out, sr_rgb, grey)
        name = self.val_names[dataloader_idx]
        self.quality[name].update(scored, hr, grey)
        self.quality_bicubic[name].update(bicubic, hr, grey)
        if self.lpips is not None and dataloader_idx == 0:  # the monitored set
            self.lpips.update(sr_rgb, hr)
        return {"sr": sr_rgb, "bicubic": bicubic, "scored": scored}

    def test_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> dict[str, Tensor]:
        return self.validation_step(batch, batch_idx, dataloader_idx)

    def _log_quality(self, split: str) -> None:
        several = len(self.val_names) > 1
        for i, name in enumerate(self.val_names):
            values = dict(self.quality[name].compute())
            values |= {f"{k}_bicubic": v for k, v in self.quality_bicubic[name].compute().items()}
            for key, value in values.items():
                if i == 0:  # the first set is the one monitored
                    self.log(f"{split}/{key}", value, sync_dist=False)
                if several:
                    self.log(f"{split}/{name}/{key}", value, sync_dist=False)
            self.quality[name].reset()
            self.quality_bicubic[name].reset()

    def on_fit_start(self) -> None:
        self._fit_start = time.monotonic()

    def on_validation_epoch_end(self) -> None:
        psnr = self.quality[self.val_names[0]].compute()["psnr"]
        self._log_quality("val")
        if self.trainer.state.fn == TrainerFn.FITTING:  # wall-clock seconds of training, for curves
            self.log("train/wall_s", time.monotonic() - self._fit_start, sync_dist=False)
        if self.lpips is not None:
            self.log("val/lpips", self.lpips.compute(), sync_dist=False)
            self.lpips.reset()
        if not self.trainer.sanity_checking:
            self.psnr_best.update(psnr)
            self.log("val/psnr_best", self.psnr_best.compute(), sync_dist=False)

    def on_test_epoch_end(self) -> None:
        self._log_quality("test")

"""`GANSystem`: adversarial training of a generator against a discriminator (SRGAN, ESRGAN, EnhanceNet).

Each training step, on one batch:
1. G step: `loss_g = content(sr, hr) + adversarial_weight * adversarial.generator(D(hr), D(sr))`, with D frozen.
2. `d_steps` D steps: `loss_d = adversarial.discriminator(D(hr), D(sr.detach()))`, with G frozen.
3. Both schedulers step; the EMA copy of G (`ema_decay`, `SRSystem.start_ema`) moves towards G.

`trainer.global_step`, and so `trainer.max_steps` and the schedules, count G updates, as the papers count
iterations. Validation, checkpoints' `net_ema.` weights and export use the EMA copy when there is one.
"""

from collections.abc import Callable

from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from srlab.systems.checkpoint import load_net_weights, read_checkpoint
from srlab.systems.sr import SRSystem


class GANSystem(SRSystem):
    """Trains `net` (the generator) with a content loss and an adversarial loss against `discriminator`.

    Args:
        net: the generator, an RGB network that follows the model contract.
        discriminator: RGB HR patches in [0, 1] -> logits.
        loss: the content loss `(sr, hr) -> scalar`; a `WeightedSum`'s parts (`.last`) are logged too.
        adversarial: `AdversarialLoss`, with `generator(real_logits, fake_logits)` and
            `discriminator(real_logits, fake_logits)`.
        adversarial_weight: weight of the adversarial term in G's loss.
        optimizer, optimizer_d: called with G and with D, return their optimizers.
        scheduler, scheduler_d: called with those optimizers; both step once per G update.
        d_steps: D updates per G update, on the same batch.
        pretrained_g: a `train.py` checkpoint whose `net.` weights initialise G (the PSNR-oriented stage).
        ema_decay: keep `net_ema`, an exponential moving average of G's weights
            (`ema = decay * ema + (1 - decay) * w` after each G update), for validation and export:
            `SRSystem`'s EMA, started after the warm start from `pretrained_g`.
        grad_clip_g, grad_clip_d: clip each network's gradient norm to this value.
        compile: compile G and D with `torch.compile`.
        lpips: also log `val/lpips` (of the EMA when there is one), when it can be built.
    """

    def __init__(
        self,
        net: nn.Module,
        discriminator: nn.Module,
        loss: nn.Module,
        adversarial: nn.Module,
        adversarial_weight: float,
        optimizer: Callable[[nn.Module], Optimizer],
        optimizer_d: Callable[[nn.Module], Optimizer],
        scheduler: Callable[[Optimizer], LRScheduler] | None = None,
        scheduler_d: Callable[[Optimizer], LRScheduler] | None = None,
        d_steps: int = 1,
        pretrained_g: str | None = None,
        ema_decay: float | None = None,
        grad_clip_g: float | None = None,
        grad_clip_d: float | None = None,
        compile: bool = False,
        lpips: bool = False,
    ) -> None:
        if pretrained_g:  # before the EMA copy is made, so the average starts from the pretrained G
            source = f"model.pretrained_g {pretrained_g}"
            load_net_weights(net, read_checkpoint(pretrained_g, "model.pretrained_g"), source)
        super().__init__(net, loss, optimizer, scheduler, compile, lpips=lpips, ema_decay=ema_decay)
        if net.out_channels != 3:
            raise ValueError(
                f"GANSystem needs an RGB generator: {type(net).__name__} has out_channels={net.out_channels}"
            )
        if d_steps < 1:
            raise ValueError(f"model.d_steps must be at least 1, got {d_steps}")
        self.automatic_optimization = False
        self.discriminator, self.adversarial, self.adversarial_weight = discriminator, adversarial, adversarial_weight
        self.optimizer_d_factory, self.scheduler_d_factory = optimizer_d, scheduler_d
        self.d_steps = d_steps
        self.grad_clip_g, self.grad_clip_d = grad_clip_g, grad_clip_d

    # --- set-up ---------------------------------------------------------------------------------
    def configure_model(self) -> None:
        if self.compile_net:
            self.net.compile()
            self.discriminator.compile()

    def setup(self, stage: str) -> None:
        super().setup(stage)
        datamodule = getattr(self.trainer, "datamodule", None)
        size = getattr(self.discriminator, "input_size", None)
        if stage == "fit" and size is not None and hasattr(datamodule, "patch_size"):
            hr_patch = datamodule.patch_size * datamodule.scale
            if hr_patch != size:
                raise ValueError(
                    f"model.discriminator.input_size is {size}, but the HR training patches are "
                    f"data.patch_size * data.scale = {datamodule.patch_size} * {datamodule.scale} = {hr_patch}"
                )

    def on_fit_start(self) -> None:
        super().on_fit_start()
        model = self.trainer.strategy.model
        if isinstance(model, DistributedDataParallel) and not model.find_unused_parameters:
            # D takes no part in G's backward and G none in D's: DDP must be told, or its reducer stalls.
            raise ValueError(
                "GANSystem under DDP needs trainer.strategy=ddp_find_unused_parameters_true: each backward "
                "leaves the other network's parameters unused"
            )

    def configure_optimizers(self) -> list[dict]:
        configs = []
        for name, module, make_optimizer, make_scheduler in (
            ("generator", self.net, self.optimizer_factory, self.scheduler_factory),
            ("discriminator", self.discriminator, self.optimizer_d_factory, self.scheduler_d_factory),
        ):
            optimizer = make_optimizer(module)
            config: dict = {"optimizer": optimizer}
            if make_scheduler is not None:
                scheduler = make_scheduler(optimizer)
                config["lr_scheduler"] = {"scheduler": scheduler, "interval": "step", "name": f"lr-{name}"}
            configs.append(config)
        return configs

    # --- training -------------------------------------------------------------------------------
    def training_step(self, batch: dict, batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        step, hr = self.global_step, batch["hr"]
        sr = self(batch["lr"])

        # G step: D's parameters are frozen, so G's backward leaves them without gradients.
        self.toggle_optimizer(opt_g)
        fake_logits = self.discriminator(sr)
        real_logits = self.discriminator(hr) if self.adversarial.kind == "ragan" else None  # relativistic only
        loss_content = self.loss(sr, hr)
        loss_adv = self.adversarial.generator(real_logits, fake_logits)
        loss_g = loss_content + self.adversarial_weight * loss_adv
        self.check_finite("generator loss", loss_g, {"content": loss_content, "adversarial": loss_adv}, step)
        opt_g.zero_grad()
        self.manual_backward(loss_g)
        opt_g.step()
        self.untoggle_optimizer(opt_g)

        # D steps on the same batch, against the SR images detached from G.
        self.toggle_optimizer(opt_d)
        fake = sr.detach()
        for _ in range(self.d_steps):
            real_logits, fake_logits = self.discriminator(hr), self.discriminator(fake)
            loss_d = self.adversarial.discriminator(real_logits, fake_logits)
            self.check_finite("discriminator loss", loss_d, step=step)
            opt_d.zero_grad()
            self.manual_backward(loss_d)
            # Through the strategy (precision, DDP, clipping) but not `opt_d.step()`, which Lightning
            # would count as a training step: `global_step` counts G updates only.
            self.trainer.strategy.optimizer_step(opt_d.optimizer, closure=lambda: None)
        self.untoggle_optimizer(opt_d)

        for config in self.trainer.lr_scheduler_configs:
            config.scheduler.step()

        batch_size = hr.shape[0]
        shown = {"train/loss_g": loss_g, "train/loss_d": loss_d}
        logs = {
            "train/loss_content": loss_content,
            "train/loss_adv": loss_adv,
            "train/d_real": real_logits.mean(),  # D's mean logit on HR and on SR, from the last D step
            "train/d_fake": fake_logits.mean(),
        }
        logs |= {f"train/content/{k}": v for k, v in getattr(self.loss, "last", {}).items()}
        self.log_dict({k: v.detach().float() for k, v in shown.items()}, prog_bar=True, batch_size=batch_size)
        self.log_dict({k: v.detach().float() for k, v in logs.items()}, batch_size=batch_size)

    def on_before_optimizer_step(self, optimizer: Optimizer) -> None:
        # Here gradients are unscaled under 16-bit mixed precision, and whole (after DDP's all-reduce).
        super().on_before_optimizer_step(optimizer)  # the non-finite check
        clip = self.grad_clip_g if optimizer is self.trainer.optimizers[0] else self.grad_clip_d
        if clip is not None:
            self.clip_gradients(optimizer, gradient_clip_val=clip, gradient_clip_algorithm="norm")

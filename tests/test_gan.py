"""GANSystem: which network each step touches, EMA arithmetic, warm start, non-finite losses, resume, precision, DDP;
short training runs of the GAN and perceptual experiments at tiny width."""

import os
import socket
import sys

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import OmegaConf
from torch import nn
from torch.utils.data import DataLoader, Dataset

from conftest import compose_train, random_vgg, run_cli, tiny_overrides
from srlab.cli.checkpoint import load_net
from srlab.cli.train import train
from srlab.data import SRDataModule
from srlab.losses import AdversarialLoss
from srlab.models.contract import SRNet
from srlab.ops import imresize
from srlab.systems import GANSystem, SRSystem

# --- tiny stand-ins ---------------------------------------------------------------------------------


class TinyG(SRNet):
    """x2 generator following the model contract: bicubic plus a learned residual."""

    def __init__(self) -> None:
        super().__init__(2, 3, 3)
        self.body = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return imresize(x, self.scale) + self.body(nn.functional.interpolate(x, scale_factor=2.0))


class TinyD(nn.Module):
    """RGB -> (B, 1) logits; batch norm, so its buffers move in every forward in training mode."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.LeakyReLU(0.2))
        self.head = nn.Linear(4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))


class FixedBatches(Dataset):
    """`length` items that make the same batch of 2 every time: runs compare exactly however they are split
    (a resumed run restarts the loader, so which batch comes at a given step could otherwise differ)."""

    def __init__(self, length: int = 8) -> None:
        g = torch.Generator().manual_seed(0)
        self.hr, self.length = torch.rand(2, 3, 16, 16, generator=g), length
        self.lr = imresize(self.hr, 1 / 2).clamp(0, 1)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"lr": self.lr[i % 2], "hr": self.hr[i % 2]}


def make_system(seed: int = 0, loss: nn.Module | None = None, kind: str = "vanilla", **kwargs) -> GANSystem:
    torch.manual_seed(seed)
    kwargs = {
        "adversarial_weight": 0.1,
        "optimizer": lambda m: torch.optim.Adam(m.parameters(), lr=1e-2),
        "optimizer_d": lambda m: torch.optim.Adam(m.parameters(), lr=1e-2),
        "scheduler": lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
        "scheduler_d": lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.5),
        **kwargs,
    }
    return GANSystem(TinyG(), TinyD(), loss or nn.L1Loss(), AdversarialLoss(kind), **kwargs)


def trainer(max_steps: int, **kwargs) -> L.Trainer:
    """A quiet CPU trainer without checkpoints or validation, unless `kwargs` ask for them."""
    quiet = {"logger": False, "enable_checkpointing": False, "enable_progress_bar": False}
    kwargs = {**quiet, "enable_model_summary": False, "num_sanity_val_steps": 0, "limit_val_batches": 0, **kwargs}
    return L.Trainer(max_steps=max_steps, accelerator="cpu", devices=1, **kwargs)


def loader(length: int = 8) -> DataLoader:
    return DataLoader(FixedBatches(length), batch_size=2, shuffle=False)


def params(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def grads(module: nn.Module) -> dict[str, torch.Tensor | None]:
    return {k: None if v.grad is None else v.grad.clone() for k, v in module.named_parameters()}


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (x is None and y is None) or (x is not None and y is not None and torch.equal(x, y))
        for x, y in zip(a.values(), b.values())
    )


# --- the training step ------------------------------------------------------------------------------


def test_g_step_changes_only_g_and_d_step_only_d():
    """Each backward leaves the other network's gradients alone; each update moves only its own network."""
    system = make_system()
    records = []  # (network stepped, G params, D params, G grads, D grads), before and after each update

    class Recording(torch.optim.Adam):
        def step(self, closure=None):
            name = "G" if self is trainer_.optimizers[0] else "D"
            records.append(("before " + name, params(system.net), params(system.discriminator),
                            grads(system.net), grads(system.discriminator)))  # fmt: skip
            out = super().step(closure)
            records.append(("after " + name, params(system.net), params(system.discriminator), None, None))
            return out

    system.optimizer_factory = lambda m: Recording(m.parameters(), lr=1e-2)
    system.optimizer_d_factory = lambda m: Recording(m.parameters(), lr=1e-2)
    trainer_ = trainer(2)
    trainer_.fit(system, train_dataloaders=loader())

    assert [r[0] for r in records] == ["before G", "after G", "before D", "after D"] * 2
    d_grads_after_d = None
    for i in range(0, len(records), 4):
        g_before, g_after, d_before, d_after = records[i : i + 4]
        # G's update: G's gradients exist, D's are those D's own last backward left (none at first).
        assert all(g is not None for g in g_before[3].values())
        if d_grads_after_d is None:
            assert all(g is None for g in g_before[4].values())
        else:
            assert same(g_before[4], d_grads_after_d)
        assert not same(g_before[1], g_after[1]) and same(g_before[2], g_after[2])
        # D's update: G's gradients untouched since G's update, D's present.
        assert same(d_before[3], g_before[3])
        assert all(g is not None for g in d_before[4].values())
        assert same(d_before[1], d_after[1]) and not same(d_before[2], d_after[2])
        d_grads_after_d = d_before[4]
    # Untoggled after each step: both networks trainable again.
    assert all(p.requires_grad for p in [*system.net.parameters(), *system.discriminator.parameters()])


@pytest.mark.parametrize("d_steps", [1, 3])
def test_global_step_counts_generator_updates_and_schedules_follow(d_steps):
    class CountingAdam(torch.optim.Adam):
        steps = 0

        def step(self, closure=None):
            CountingAdam.steps += 1
            return super().step(closure)

    system = make_system(d_steps=d_steps, optimizer_d=lambda m: CountingAdam(m.parameters(), lr=1e-2))
    fit = trainer(5)
    fit.fit(system, train_dataloaders=loader())
    assert fit.global_step == 5 and CountingAdam.steps == 5 * d_steps
    sched_g, sched_d = (c.scheduler for c in fit.lr_scheduler_configs)
    assert sched_g.last_epoch == sched_d.last_epoch == 5  # stepped once per G update
    assert fit.optimizers[0].param_groups[0]["lr"] == pytest.approx(1e-2 * 0.5)  # StepLR(3): one halving
    assert fit.optimizers[1].param_groups[0]["lr"] == pytest.approx(1e-2 * 0.25)  # StepLR(2): two
    for key in ("loss_g", "loss_d", "loss_content", "loss_adv", "d_real", "d_fake"):
        assert torch.isfinite(fit.callback_metrics[f"train/{key}"]), key


def test_ragan_and_content_parts_are_logged():
    from srlab.losses import WeightedSum

    content = WeightedSum({"pixel": nn.L1Loss(), "mse": nn.MSELoss()}, {"pixel": 1.0, "mse": 10.0})
    system = make_system(loss=content, kind="ragan")
    fit = trainer(2)
    fit.fit(system, train_dataloaders=loader())
    metrics = fit.callback_metrics
    assert set(content.last) == {"pixel", "mse"}
    total = metrics["train/content/pixel"] + metrics["train/content/mse"]
    torch.testing.assert_close(total, metrics["train/loss_content"])
    expected = metrics["train/loss_content"] + 0.1 * metrics["train/loss_adv"]
    torch.testing.assert_close(metrics["train/loss_g"], expected)


def test_gradient_clipping_per_network():
    system = make_system(grad_clip_g=1e-4, grad_clip_d=None)
    norms = {}

    class Recording(torch.optim.Adam):
        def step(self, closure=None):
            out = super().step(closure)  # runs the closure: backward, then clipping
            total = torch.linalg.vector_norm(
                torch.stack([p.grad.norm() for g in self.param_groups for p in g["params"]])
            )
            norms.setdefault("G" if self is fit.optimizers[0] else "D", []).append(float(total))
            return out

    system.optimizer_factory = lambda m: Recording(m.parameters(), lr=1e-3)
    system.optimizer_d_factory = lambda m: Recording(m.parameters(), lr=1e-3)
    fit = trainer(3)
    fit.fit(system, train_dataloaders=loader())
    assert max(norms["G"]) <= 1e-4 * (1 + 1e-4)  # clipped to the norm
    assert min(norms["D"]) > 1e-3  # not clipped: D's gradients stay 10x above G's clip and more


# --- EMA ----------------------------------------------------------------------------------------------


def test_ema_update_arithmetic():
    system = make_system(ema_decay=0.9)
    ema0 = params(system.net_ema)
    assert same(ema0, params(system.net))  # starts as a copy of G
    with torch.no_grad():
        for p in system.net.parameters():
            p.add_(1.0)
    w = params(system.net)
    system.update_ema()
    for name, value in params(system.net_ema).items():
        torch.testing.assert_close(value, 0.9 * ema0[name] + 0.1 * w[name])
    system.update_ema()  # a second step moves 10% of the remaining way again
    for name, value in params(system.net_ema).items():
        torch.testing.assert_close(value, 0.9 * (0.9 * ema0[name] + 0.1 * w[name]) + 0.1 * w[name])
    with pytest.raises(ValueError, match="ema_decay"):
        make_system(ema_decay=1.0)


def test_validation_and_export_use_the_ema(tiny_data, tmp_path):
    """An EMA whose residual branch is zero is exactly bicubic: validation must score it, not G."""
    system = make_system(ema_decay=0.999)
    with torch.no_grad():
        system.net.body.weight.fill_(0.05)
        system.net_ema.body.weight.zero_()
        system.net_ema.body.bias.zero_()
    dm = SRDataModule(scale=2, train=[], val={"t": [str(tiny_data["val"])]}, num_workers=0)
    (scores,) = trainer(1, limit_val_batches=None).validate(system, datamodule=dm)
    assert scores["val/psnr"] == pytest.approx(scores["val/psnr_bicubic"], abs=1e-6)

    system.net_ema = None  # validating G itself gives another score
    (scores_g,) = trainer(1, limit_val_batches=None).validate(system, datamodule=dm)
    assert abs(scores_g["val/psnr"] - scores["val/psnr"]) > 0.1

    # Checkpoints hold the EMA under net_ema.; load_net (eval.py, upscale.py) prefers it.
    system = make_system(ema_decay=0.5)
    system.net_config = {"_target_": f"{__name__}.TinyG"}
    fit = trainer(2, enable_checkpointing=True, default_root_dir=tmp_path)
    fit.fit(system, train_dataloaders=loader(4))
    fit.save_checkpoint(tmp_path / "gan.ckpt")
    state = torch.load(tmp_path / "gan.ckpt", weights_only=True)["state_dict"]
    assert not torch.equal(state["net_ema.body.weight"], state["net.body.weight"])
    torch.testing.assert_close(load_net(tmp_path / "gan.ckpt").body.weight, state["net_ema.body.weight"])


def test_discriminator_input_size_must_match_the_hr_patches(tiny_data):
    from srlab.models.srgan_discriminator import SRGANDiscriminator

    system = make_system()
    system.discriminator = SRGANDiscriminator(num_features=4, input_size=48)
    dm = SRDataModule(scale=2, train=[str(tiny_data["train"])], val={"t": [str(tiny_data["val"])]}, patch_size=8,
                      num_workers=0)  # fmt: skip
    expected = r"model.discriminator.input_size is 48, but .* data.patch_size \* data.scale = 8 \* 2 = 16"
    with pytest.raises(ValueError, match=expected):
        trainer(1).fit(system, datamodule=dm)


# --- warm start ---------------------------------------------------------------------------------------


def test_pretrained_g_warm_start_and_its_errors(tmp_path):
    """G and its EMA start from the `net.` weights of a PSNR-oriented SRSystem checkpoint."""
    torch.manual_seed(1)
    stage_one = SRSystem(TinyG(), nn.L1Loss(), optimizer=lambda m: torch.optim.Adam(m.parameters(), lr=1e-2))
    fit = trainer(2)
    fit.fit(stage_one, train_dataloaders=loader())
    fit.save_checkpoint(tmp_path / "psnr.ckpt")
    system = make_system(seed=2, pretrained_g=str(tmp_path / "psnr.ckpt"), ema_decay=0.9)
    assert same(params(system.net), params(stage_one.net)) and same(params(system.net_ema), params(stage_one.net))

    with pytest.raises(FileNotFoundError, match=r"model.pretrained_g: checkpoint .*missing.ckpt does not exist"):
        make_system(pretrained_g=str(tmp_path / "missing.ckpt"))
    torch.save({"state_dict": {"discriminator.w": torch.ones(1)}}, tmp_path / "no_net.ckpt")
    with pytest.raises(ValueError, match="no 'net.' weights"):
        make_system(pretrained_g=str(tmp_path / "no_net.ckpt"))
    torch.save({"state_dict": {"net.body.weight": torch.ones(3, 3, 5, 5)}}, tmp_path / "other_net.ckpt")
    with pytest.raises(ValueError, match="do not fit TinyG"):
        make_system(pretrained_g=str(tmp_path / "other_net.ckpt"))
    (tmp_path / "text.ckpt").write_text("not a checkpoint")
    with pytest.raises(ValueError, match="is not a PyTorch checkpoint"):
        make_system(pretrained_g=str(tmp_path / "text.ckpt"))


# --- failures and resuming ----------------------------------------------------------------------------


class NaNAfter(nn.Module):
    """L1, until `calls` calls have been made; NaN from then on."""

    def __init__(self, calls: int) -> None:
        super().__init__()
        self.calls, self.seen = calls, 0

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        self.seen += 1
        loss = (sr - hr).abs().mean()
        return loss * float("nan") if self.seen > self.calls else loss


class NaNDiscriminatorLoss(AdversarialLoss):
    def __init__(self, calls: int) -> None:
        super().__init__("vanilla")
        self.calls, self.seen = calls, 0

    def discriminator(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        self.seen += 1
        loss = super().discriminator(real_logits, fake_logits)
        return loss * float("inf") if self.seen > self.calls else loss


@pytest.mark.parametrize("which", ["generator", "discriminator"])
def test_non_finite_loss_stops_the_run_and_keeps_the_last_good_checkpoint(which, tmp_path):
    system = make_system(loss=NaNAfter(3) if which == "generator" else None)
    if which == "discriminator":
        system.adversarial = NaNDiscriminatorLoss(3)
    saved = ModelCheckpoint(dirpath=tmp_path, filename="last", every_n_train_steps=1, enable_version_counter=False)
    fit = trainer(10, enable_checkpointing=True, callbacks=[saved], default_root_dir=tmp_path)
    with pytest.raises(FloatingPointError, match=rf"non-finite {which} loss at training step 4: .*Stopped before"):
        fit.fit(system, train_dataloaders=loader())
    ckpt = torch.load(tmp_path / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == 3
    networks = {k: v for k, v in ckpt["state_dict"].items() if k.startswith(("net.", "discriminator."))}
    assert networks and all(torch.isfinite(v).all() for v in networks.values() if v.is_floating_point())
    for opt_state in ckpt["optimizer_states"]:
        assert all(torch.isfinite(s["exp_avg"]).all() for s in opt_state["state"].values())


def test_resume_restores_both_networks_optimizers_schedulers_and_ema(tmp_path):
    """8 steps in one go equal 4 steps, saved, then resumed to 8: every piece of state came back."""
    straight, fit_straight = make_system(ema_decay=0.9), trainer(8)
    fit_straight.fit(straight, train_dataloaders=loader())

    first = make_system(ema_decay=0.9)
    fit = trainer(4, enable_checkpointing=True, default_root_dir=tmp_path)
    fit.fit(first, train_dataloaders=loader())
    fit.save_checkpoint(tmp_path / "half.ckpt")

    resumed = make_system(seed=99, ema_decay=0.9)  # other initial weights: all must come from the checkpoint
    fit = trainer(8)
    fit.fit(resumed, train_dataloaders=loader(), ckpt_path=tmp_path / "half.ckpt", weights_only=True)
    assert fit.global_step == 8
    for name in ("net", "discriminator", "net_ema"):
        a, b = getattr(straight, name).state_dict(), getattr(resumed, name).state_dict()
        for key in a:
            torch.testing.assert_close(b[key], a[key], msg=f"{name}.{key}")
    for opt_a, opt_b in zip(fit_straight.optimizers, fit.optimizers, strict=True):
        assert opt_a.param_groups[0]["lr"] == opt_b.param_groups[0]["lr"]
        for s_a, s_b in zip(opt_a.state.values(), opt_b.state.values(), strict=True):
            assert s_a["step"] == s_b["step"] == 8
            torch.testing.assert_close(s_b["exp_avg_sq"], s_a["exp_avg_sq"])
    assert [c.scheduler.last_epoch for c in fit.lr_scheduler_configs] == [8, 8]


# --- precision and DDP --------------------------------------------------------------------------------


def test_bf16_mixed_precision():
    system = make_system(kind="ragan", ema_decay=0.9)
    before = params(system.net) | {f"d.{k}": v for k, v in params(system.discriminator).items()}
    fit = trainer(3, precision="bf16-mixed")
    fit.fit(system, train_dataloaders=loader())
    after = params(system.net) | {f"d.{k}": v for k, v in params(system.discriminator).items()}
    assert all(not torch.equal(before[k], after[k]) for k in before) and all(v.isfinite().all() for v in after.values())
    assert all(v.dtype == torch.float32 for v in after.values())
    assert all(torch.isfinite(v) for k, v in fit.callback_metrics.items() if k.startswith("train/"))


@pytest.fixture
def loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep DDP's rendezvous and gloo's sockets on 127.0.0.1, on a port that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(port))
    monkeypatch.setenv("GLOO_SOCKET_IFNAME", "lo0" if sys.platform == "darwin" else "lo")


@pytest.fixture
def one_process_group(loopback: None):
    """DDP in this process (world size 1): the reducer runs, with nothing spawned; torn down after, with the
    variables Lightning sets (LOCAL_RANK would make a later train.py believe it is a launched DDP worker)."""
    import torch.distributed as dist

    environ = dict(os.environ)
    yield
    if dist.is_initialized():
        dist.destroy_process_group()
    os.environ.clear()
    os.environ.update(environ)


@pytest.mark.usefixtures("one_process_group")
def test_ddp_needs_find_unused_parameters_and_trains_with_it():
    with pytest.raises(ValueError, match="trainer.strategy=ddp_find_unused_parameters_true"):
        trainer(2, strategy="ddp").fit(make_system(), train_dataloaders=loader())

    system = make_system(kind="ragan", d_steps=2, ema_decay=0.9, grad_clip_g=1.0)
    before = params(system.net) | {f"d.{k}": v for k, v in params(system.discriminator).items()}
    fit = trainer(3, strategy="ddp_find_unused_parameters_true")
    fit.fit(system, train_dataloaders=loader())
    after = params(system.net) | {f"d.{k}": v for k, v in params(system.discriminator).items()}
    # The relativistic loss depends on D(real) - mean D(fake), where D's last bias cancels: its gradient
    # is zero up to rounding, so whether Adam moves it is chance.
    moved = [k for k in before if k != "d.head.bias"]
    assert fit.global_step == 3 and all(not torch.equal(before[k], after[k]) for k in moved)


# --- the experiments ----------------------------------------------------------------------------------

# Tiny widths, VGG at random weights, and the discriminator fitted to the tiny run's 64x64 HR patches.
TINY = {
    "srgan_x4": ["model.net.num_features=8", "model.net.num_blocks=1", "model.discriminator.num_features=8",
                 "model.discriminator.input_size=64"],
    "esrgan_x4": ["model.net.num_features=8", "model.net.num_blocks=1", "model.net.growth_channels=4",
                  "model.discriminator.num_features=8", "model.discriminator.input_size=64"],
    "enhancenet_pat_x4": ["model.net.num_features=8", "model.net.num_blocks=1", "model.discriminator.num_features=8",
                          "model.discriminator.input_size=64"],
    "perceptual_johnson_x4": ["model.net.num_features=8", "model.net.num_blocks=1"],
}  # fmt: skip


# What each recipe must say (the papers' figures); its D must fit its HR patches.
RECIPES = {
    "srgan_x4": {"model._target_": "srlab.systems.GANSystem", "model.adversarial.kind": "vanilla",
                 "model.adversarial_weight": 1e-3, "optimizer.lr": 1e-4, "model.optimizer_d.lr": 1e-4,
                 "scheduler.milestones": [100000], "scheduler.gamma": 0.1, "trainer.max_steps": 200000,
                 "data.batch_size": 16, "model.net._target_": "srlab.models.SRResNet"},
    "esrgan_x4": {"model._target_": "srlab.systems.GANSystem", "model.adversarial.kind": "ragan",
                  "model.adversarial_weight": 5e-3, "optimizer.lr": 1e-4, "model.optimizer_d.lr": 1e-4,
                  "scheduler.milestones": [50000, 100000, 200000, 300000], "scheduler.gamma": 0.5,
                  "trainer.max_steps": 400000, "data.batch_size": 16, "model.ema_decay": 0.999,
                  "model.net._target_": "srlab.models.RRDBNet"},
    "enhancenet_pat_x4": {"model._target_": "srlab.systems.GANSystem", "model.adversarial.kind": "vanilla",
                          "model.adversarial_weight": 2.0, "optimizer.lr": 1e-4, "model.optimizer_d.lr": 1e-4,
                          "scheduler": None, "data.batch_size": 16,
                          "model.net._target_": "srlab.models.EnhanceNet"},
    "perceptual_johnson_x4": {"model._target_": "srlab.systems.SRSystem", "optimizer.lr": 1e-3, "scheduler": None,
                              "trainer.max_steps": 200000, "data.batch_size": 4, "data.patch_size": 72,
                              "data.blur_sigma": 1.0, "model.net._target_": "srlab.models.JohnsonSR"},
}  # fmt: skip


@pytest.mark.parametrize("experiment", sorted(RECIPES))
def test_experiment_recipe(experiment, tmp_path):
    cfg = compose_train([f"experiment={experiment}"], tmp_path / "run")
    for key, value in RECIPES[experiment].items():
        assert OmegaConf.select(cfg, key) == value, key
    assert cfg.data.scale == 4
    if "discriminator" in cfg.model:
        assert cfg.model.discriminator.input_size == cfg.data.patch_size * cfg.data.scale
        assert cfg.model.scheduler_d == cfg.model.scheduler and cfg.model.pretrained_g is None
        assert cfg.callbacks.model_checkpoint.monitor is None  # best.ckpt: the final G, not the highest PSNR


@pytest.mark.parametrize("experiment", sorted(TINY))
def test_experiment_short_run(experiment, tiny_data, tmp_path):
    overrides = [*tiny_overrides(tiny_data, tmp_path), f"experiment={experiment}", *TINY[experiment],
                 "data.batch_size=2", "trainer.max_steps=2", "data.steps_per_epoch=2"]  # fmt: skip
    overrides += random_vgg(compose_train(overrides, tmp_path / "run"))
    assert any("pretrained=false" in o for o in overrides)
    cfg = compose_train(overrides, tmp_path / "run")
    assert cfg.data.scale == 4
    metrics = train(cfg)
    assert torch.isfinite(torch.tensor(metrics["val/psnr"]))
    ckpt = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == 2
    assert not any(k.startswith("loss.") for k in ckpt["state_dict"])  # the VGG stays out of checkpoints
    if experiment != "perceptual_johnson_x4":
        assert len(ckpt["optimizer_states"]) == 2 and any(k.startswith("discriminator.") for k in ckpt["state_dict"])


@pytest.mark.slow
@pytest.mark.usefixtures("loopback")
def test_ddp_two_processes_bf16_mixed(tiny_data, tmp_path):
    """ESRGAN at tiny width, 2 gloo processes under bf16-mixed, through train.py."""
    experiment = "esrgan_x4"
    args = [*tiny_overrides(tiny_data, tmp_path), f"experiment={experiment}", *TINY[experiment],
            "data.batch_size=2", "trainer.max_steps=4", "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2",
            "trainer.strategy=ddp_find_unused_parameters_true", "trainer.precision=bf16-mixed"]  # fmt: skip
    args += random_vgg(compose_train(args, tmp_path / "compose"))
    proc = run_cli("train.py", args)
    assert "Starting with 2 processes" in proc.stdout + proc.stderr
    (run,) = (tmp_path / "train").glob("*/*")
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == 4 and len(ckpt["optimizer_states"]) == 2
    assert all(torch.isfinite(v).all() for k, v in ckpt["state_dict"].items() if k.startswith("net_ema."))

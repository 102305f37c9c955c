"""Short training runs of every model through `srlab.cli.train.train`, and the run directory."""

import json

import pytest
import torch

from conftest import compose_train, tiny_overrides
from srlab.cli.train import train
from srlab.models.contract import SRNet


@pytest.mark.parametrize("model", ["bicubic", "srcnn", "fsrcnn", "espcn"])
def test_short_training_run(model, tiny_data, tmp_path):
    cfg = compose_train([*tiny_overrides(tiny_data, tmp_path), f"model={model}", "data.scale=2"], tmp_path / "run")
    metrics = train(cfg)
    for key in ("val/psnr", "val/ssim", "val/psnr_bicubic", "val/ssim_bicubic"):
        assert key in metrics and torch.isfinite(torch.tensor(metrics[key])), key
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["val/psnr"] == pytest.approx(metrics["val/psnr"])
    assert (tmp_path / "run" / "config_tree.log").exists()
    if model == "bicubic":  # nothing to train: the model is the baseline
        assert saved["ckpt_path"] is None
        assert metrics["val/psnr"] == pytest.approx(metrics["val/psnr_bicubic"])
    else:
        ckpts = tmp_path / "run" / "checkpoints"
        assert (ckpts / "best.ckpt").exists() and (ckpts / "last.ckpt").exists()
        assert saved["ckpt_path"] == str(ckpts / "best.ckpt")
        torch.load(ckpts / "best.ckpt", weights_only=True)


class TwoLevels(SRNet):
    """A multi-output, multi-scale net: in training, the output at half size and at full size."""

    pre_upsampled = True

    def __init__(self) -> None:
        super().__init__(2, 3, 3)
        self.conv, self.seen = torch.nn.Conv2d(3, 3, 3, padding=1), []

    def forward(self, x: torch.Tensor):
        self.seen.append((self.scale, self.training))
        out = self.conv(x)
        return [out[..., ::2, ::2], out] if self.training else out


class RecordingSGD(torch.optim.SGD):
    def step(self, closure=None):
        loss = super().step(closure)  # runs the closure: backward, then clipping
        self.largest_grad = max(p.grad.abs().max().item() for g in self.param_groups for p in g["params"])
        return loss


def test_system_multi_output_multi_scale_and_adjustable_clipping(tiny_data):
    import lightning as L

    from srlab.data import SRDataModule
    from srlab.losses import MultiOutputLoss
    from srlab.systems import SRSystem

    net = TwoLevels()
    system = SRSystem(
        net, MultiOutputLoss(torch.nn.MSELoss(), weights=[1.0, 1.0]),
        optimizer=lambda n: RecordingSGD(n.parameters(), lr=10.0), adjustable_clip=1e-3,
    )
    dm = SRDataModule(scale=2, train=[str(tiny_data["train"])], val={"t": [str(tiny_data["val"])]},
                      patch_size=8, batch_size=2, steps_per_epoch=12, num_workers=0, train_scales=[2, 4])
    trainer = L.Trainer(max_steps=12, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=0, accelerator="cpu",
                        gradient_clip_algorithm="norm")  # as conf/trainer/default.yaml: replaced, not in conflict
    trainer.fit(system, datamodule=dm)
    scales_in_training = {s for s, training in net.seen if training}
    assert scales_in_training == {2, 4} and net.scale == 2  # restored after each batch
    assert {s for s, training in net.seen if not training} == {2}  # validation at data.scale
    # theta / lr = 1e-3 / 10: every gradient entry clipped to 1e-4 (VDSR's adjustable clipping)
    assert 0 < trainer.optimizers[0].largest_grad <= 1e-4 + 1e-12
    assert torch.isfinite(torch.tensor(trainer.callback_metrics["val/psnr"].item()))

"""Training never steps on a non-finite loss or gradient: it stops before the update, keeps last.ckpt at
the last good step, names the step and exits non-zero."""

import os
import subprocess
import sys

import pytest
import torch

from conftest import ROOT, compose_train, tiny_overrides
from srlab.cli.train import train
from srlab.systems.sr import NonFiniteError


def test_nan_loss_at_step_k_stops_before_the_update_with_last_ckpt_at_k_minus_1(tiny_data, tmp_path):
    run = tmp_path / "run"
    args = [*tiny_overrides(tiny_data, tmp_path), "model=fsrcnn", "data.scale=2", "trainer.max_steps=20",
            "loss._target_=faults.NaNAfter", "+loss.calls=5"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(ROOT / "train.py"), *args, f"hydra.run.dir={run}"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "non-finite loss at training step 6: loss = nan" in out and "last.ckpt holds step 5" in out
    assert "optimizer.lr" in out  # what to try
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == 5
    weights = [v for k, v in ckpt["state_dict"].items() if k.startswith("net.")]
    assert weights and all(torch.isfinite(w).all() for w in weights)
    assert not (run / "metrics.json").exists()  # nothing is reported as a result


def test_huge_learning_rate_stops_on_the_first_non_finite_value_and_writes_no_nan_checkpoint(tiny_data, tmp_path):
    cfg = compose_train([*tiny_overrides(tiny_data, tmp_path), "model=fsrcnn", "data.scale=2",
                         "optimizer.lr=1e6", "trainer.max_steps=40"], tmp_path / "run")  # fmt: skip
    with pytest.raises(NonFiniteError, match=r"non-finite (loss|gradient norm) at training step \d+"):
        train(cfg)
    for ckpt_file in (tmp_path / "run" / "checkpoints").glob("*.ckpt"):
        state = torch.load(ckpt_file, weights_only=True)["state_dict"]
        assert all(torch.isfinite(v).all() for k, v in state.items() if k.startswith("net.")), ckpt_file


class InfGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad * float("inf")


def test_non_finite_gradient_norm_with_a_finite_loss_stops_before_the_step(tiny_data):
    import lightning as L

    from srlab.data import SRDataModule
    from srlab.models import FSRCNN
    from srlab.systems import SRSystem

    class InfGradLoss(torch.nn.L1Loss):
        def forward(self, sr, hr):
            return super().forward(InfGrad.apply(sr), hr)

    net = FSRCNN(2)
    before = [p.detach().clone() for p in net.parameters()]
    system = SRSystem(net, InfGradLoss(), optimizer=lambda n: torch.optim.SGD(n.parameters(), lr=0.1))
    dm = SRDataModule(scale=2, train=[str(tiny_data["train"])], val={"t": [str(tiny_data["val"])]},
                      patch_size=8, batch_size=2, steps_per_epoch=4, num_workers=0, bank=True)  # fmt: skip
    trainer = L.Trainer(max_steps=4, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=0, accelerator="cpu")  # fmt: skip
    with pytest.raises(NonFiniteError, match=r"non-finite gradient norm at training step 1: gradient norm = (inf|nan)"):
        trainer.fit(system, datamodule=dm)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))  # no update was made

"""`hydra/launcher=`: SLURM through submitit, and the same through submitit's local executor (the `slurm`
extra), which runs here."""

import json
import pickle
from pathlib import Path

from hydra import compose, initialize_config_dir

from conftest import ROOT, run_cli, tiny_overrides


def launcher(*overrides: str):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("train", overrides=list(overrides), return_hydra_config=True).hydra.launcher


def test_slurm_launcher_gives_each_ddp_process_a_task():
    slurm = launcher("hydra/launcher=slurm", "trainer=ddp", "trainer.devices=4", "trainer.num_nodes=2")
    assert slurm._target_ == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    assert (slurm.nodes, slurm.tasks_per_node, slurm.gpus_per_node) == (2, 4, 4)
    assert slurm.name == "train" and slurm.submitit_folder.endswith("/.submitit/%j")
    single = launcher("hydra/launcher=slurm")  # trainer=default: one device, one node
    assert (single.nodes, single.tasks_per_node) == (1, 1)
    local = launcher("hydra/launcher=local")
    assert local._target_ == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher"


def test_submitit_local_multirun_of_two_jobs_completes(tiny_data, tmp_path):
    run_cli("train.py", ["-m", "hydra/launcher=local", *tiny_overrides(tiny_data, tmp_path), "model=espcn",
                         "data.scale=2", "optimizer.lr=1e-3,3e-3"], timeout=600)  # fmt: skip
    (sweep,) = (tmp_path / "train" / "multiruns").glob("*/*")
    jobs = sorted(p for p in sweep.iterdir() if p.name.isdigit())
    assert [job.name for job in jobs] == ["0", "1"]
    for job, lr in zip(jobs, ("0.001", "0.003"), strict=True):  # the sweeper writes the parsed values
        assert f"optimizer.lr={lr}" in (job / ".hydra" / "overrides.yaml").read_text()
        metrics = json.loads((job / "metrics.json").read_text())
        assert metrics["val/psnr"] > 0 and (job / "checkpoints" / "best.ckpt").is_file()
        assert "best checkpoint:" in (job / "train.log").read_text()
    # submitit's own record of each job: one folder each, with the job's pickled result ("success", value).
    results = sorted(Path(sweep / ".submitit").glob("*/*_result.pkl"))
    assert len(results) == 2
    for path in results:
        status, _ = pickle.loads(path.read_bytes())
        assert status == "success"

"""The weights that ship inside the package: manifest, checksums, loading, and a score that can fail."""

import shutil

import pytest
import torch

from conftest import compose_train, run_cli, tiny_overrides
from srlab.cli.checkpoint import pretrained_net
from srlab.cli.evaluate import _score, summarise
from srlab.data.sample import SamplePhotos
from srlab.pretrained import FOLDER, entry, load_pretrained, manifest, names, state_dict

# dB over bicubic that each weight must reach on the three sample validation photos (chelsea, coffee,
# rocket): about two thirds of what it measured when shipped (x2 1.13, x3 0.69, x4 0.47, FSRCNN-s 0.53,
# ESPCN 0.45, SRCNN 0.11).
MARGIN_DB = {"fsrcnn_x2": 0.75, "fsrcnn_x3": 0.45, "fsrcnn_x4": 0.3, "fsrcnn_s_x3": 0.35, "espcn_x3": 0.3, "srcnn_x3": 0.07}


def test_every_weight_of_the_table_ships_with_a_complete_manifest_entry():
    assert set(names()) == set(MARGIN_DB)
    total = 0
    for name in names():
        info = entry(name)
        for key in ("model", "file", "sha256", "net", "recipe", "training_data", "steps", "train_seconds",
                    "hardware", "scores", "paper", "parameters"):  # fmt: skip
            assert key in info, (name, key)
        assert set(info["scores"]) == {"set5", "set14"} and all("ssim" in s for s in info["scores"].values())
        total += (FOLDER / info["file"]).stat().st_size
    assert total < 1_000_000  # a few hundred kB in all


@pytest.fixture(scope="module")
def sample_val(tmp_path_factory):
    root = tmp_path_factory.mktemp("sample")
    SamplePhotos(root)()
    return root / "val"


@pytest.mark.parametrize("name", sorted(MARGIN_DB))
def test_weight_loads_checks_its_sha256_and_beats_bicubic_on_the_sample_photos(name, sample_val, tmp_path):
    net = pretrained_net(name)
    assert sum(p.numel() for p in net.parameters()) == entry(name)["parameters"]
    cfg = compose_train(["data=folder", "data.train=[]", f"data.val={{sample:[{sample_val}]}}", "logger=csv"],
                        tmp_path / "run", config_name="eval")  # fmt: skip
    means = summarise(_score(net, name, [net.scale], cfg, name))
    ours, bicubic = means[(name, net.scale, "sample")][0], means[("Bicubic", net.scale, "sample")][0]
    assert ours - bicubic >= MARGIN_DB[name], f"{name}: {ours:.2f} dB vs bicubic {bicubic:.2f} dB"


def test_a_changed_weight_file_fails_its_checksum_and_names_it(tmp_path):
    name = names()[0]
    copy = tmp_path / entry(name)["file"]
    shutil.copy(FOLDER / entry(name)["file"], copy)
    data = bytearray(copy.read_bytes())
    data[-10] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=rf"pretrained={name}: .*{copy.name} has SHA-256 .* the manifest says"):
        state_dict(name, folder=tmp_path)
    assert all(torch.isfinite(v).all() for v in state_dict(name).values())


def test_unknown_name_lists_the_available_ones_and_a_scale_mismatch_is_named():
    from srlab.models import FSRCNN

    with pytest.raises(KeyError, match="pretrained='nope' is not a shipped weight; available: .*fsrcnn_x3"):
        entry("nope")
    with pytest.raises(ValueError, match=r"pretrained=fsrcnn_x3 is a x3 FSRCNN, but the net is built at x2 \(data.scale\)"):
        load_pretrained(FSRCNN(2), "fsrcnn_x3")


def test_training_starts_from_a_shipped_weight(tiny_data, tmp_path):
    from hydra.utils import instantiate

    cfg = compose_train([*tiny_overrides(tiny_data, tmp_path), "model=fsrcnn", "data.scale=3",
                         "model.pretrained=fsrcnn_x3"], tmp_path / "run")  # fmt: skip
    system = instantiate(cfg.model)
    shipped = state_dict("fsrcnn_x3")
    assert all(torch.equal(v, shipped[k]) for k, v in system.net.state_dict().items())
    bad = compose_train([*tiny_overrides(tiny_data, tmp_path), "model=fsrcnn", "data.scale=2",
                         "model.pretrained=fsrcnn_x3"], tmp_path / "run2")  # fmt: skip
    with pytest.raises(Exception, match="is a x3 FSRCNN, but the net is built at x2"):
        instantiate(bad.model)


def test_eval_and_upscale_take_a_shipped_weight_offline_without_a_checkpoint(tmp_path, sample_val):
    proc = run_cli("eval.py", ["pretrained=fsrcnn_x3", "data=folder", "data.train=[]",
                               f"data.val={{sample:[{sample_val}]}}", "logger=csv", f"hydra.run.dir={tmp_path}/eval"])  # fmt: skip
    assert "| FSRCNN | x3 |" in proc.stdout
    out = tmp_path / "sr"
    run_cli("upscale.py", ["pretrained=fsrcnn_x3", f"input={sample_val / 'coffee.png'}", f"output={out}",
                           f"hydra.run.dir={tmp_path}/up"])  # fmt: skip
    from PIL import Image

    with Image.open(sample_val / "coffee.png") as lr, Image.open(out / "coffee.png") as sr:
        assert sr.size == (lr.size[0] * 3, lr.size[1] * 3)


def test_eval_pretrained_all_prints_every_weight_against_its_paper(tmp_path, sample_val):
    proc = run_cli("eval.py", ["pretrained=all", "data=folder", "data.train=[]", f"data.val={{sample:[{sample_val}]}}",
                               "logger=csv", f"hydra.run.dir={tmp_path}/eval"])  # fmt: skip
    assert "| weight | scale | set | ours PSNR / SSIM | paper PSNR / SSIM |" in proc.stdout
    for name in names():
        assert f"| {name} | x{entry(name)['net']['scale']} | sample |" in proc.stdout

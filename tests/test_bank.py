"""The patch bank: the validation degradation, D4 on the device, reproducible batches."""

import numpy as np
import pytest
import torch

from srlab.data import SRDataModule
from srlab.data.bank import PatchBank, d4, grid
from srlab.data.images import list_images, read_image


@pytest.fixture
def files(tiny_data):
    return list_images([tiny_data["train"]])


def test_grid_covers_the_image_and_ends_flush():
    assert grid(10, 4, 3) == [0, 3, 6]
    assert grid(11, 4, 3) == [0, 3, 6, 7]
    assert grid(4, 4, 2) == [0]


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bank_lr_equals_the_on_the_fly_lr_of_the_same_crop(files, scale):
    bank = PatchBank(files, scale, patch_size=8, stride=5, augment=False)
    img = torch.from_numpy(read_image(files[0])[0].copy()).permute(2, 0, 1)
    hr_size = 8 * scale
    first_row = grid(img.shape[2], hr_size, 5 * scale)
    # Patch j of the first row is the image's crop at (0, x_j) ...
    for j, x in enumerate(first_row):
        assert torch.equal(bank.hr[j], img[:, :hr_size, x : x + hr_size])
    # ... and its LR is what the worker loader's path makes of that crop on the device.
    on_the_fly = SRDataModule(scale, ["unused"], {"v": ["unused"]}, patch_size=8)
    lr = on_the_fly.on_after_batch_transfer({"hr": bank.hr[: len(first_row)]}, 0)["lr"]
    assert torch.equal(bank.lr[: len(first_row)], lr.mul(255).round().to(torch.uint8))
    assert bank.lr.shape[1:] == (3, 8, 8) and bank.hr.shape[1:] == (3, hr_size, hr_size)


def test_d4_gives_the_eight_flips_and_rotations_per_patch():
    x = torch.arange(2 * 3 * 4 * 4).reshape(2, 3, 4, 4)
    a = x[0].numpy()
    expected = [np.rot90(a, t & 3, axes=(1, 2)) if not t & 4 else np.rot90(a.transpose(0, 2, 1), t & 3, axes=(1, 2))
                for t in range(8)]  # fmt: skip
    outs = []
    for t in range(8):
        out = d4(x, torch.tensor([t, 0]))
        assert torch.equal(out[1], x[1])  # each patch its own transform
        assert np.array_equal(out[0].numpy(), expected[t])
        outs.append(out[0])
    assert len({o.numpy().tobytes() for o in outs}) == 8


def test_drawn_batches_are_augmented_bank_patches_on_the_bank_device(files):
    bank = PatchBank(files, 2, patch_size=8, stride=4, seed=3)
    batch = bank.draw(64)
    assert batch["lr"].device == bank.lr.device and batch["hr"].dtype == torch.float32
    hr = batch["hr"].mul(255).round().to(torch.uint8)
    lr = batch["lr"].mul(255).round().to(torch.uint8)
    variants = {t: d4(bank.hr, torch.full((len(bank),), t)) for t in range(8)}
    lr_variants = {t: d4(bank.lr, torch.full((len(bank),), t)) for t in range(8)}
    transforms = set()
    for i in range(64):
        found = [(t, n) for t in range(8) for n in (variants[t] == hr[i]).flatten(1).all(1).nonzero().flatten().tolist()]
        assert found, f"drawn patch {i} is no flip/rotation of a bank patch"
        assert any(torch.equal(lr_variants[t][n], lr[i]) for t, n in found)  # LR moved with its HR
        transforms |= {t for t, _ in found}
    assert len(transforms) == 8


def test_a_seed_gives_the_same_batches_and_the_state_resumes_the_stream(files):
    a, b = PatchBank(files, 3, 8, 4, seed=7), PatchBank(files, 3, 8, 4, seed=7)
    first = [a.draw(8)["hr"] for _ in range(3)]
    assert all(torch.equal(x, b.draw(8)["hr"]) for x in first)
    assert not torch.equal(PatchBank(files, 3, 8, 4, seed=8).draw(8)["hr"], first[0])
    state = a.state_dict()
    following = a.draw(8)["hr"]
    b.load_state_dict(state)
    assert torch.equal(b.draw(8)["hr"], following)


def test_datamodule_bank_trains_without_workers_and_refuses_what_it_cannot_make(tiny_data):
    import lightning as L

    from srlab.models import FSRCNN
    from srlab.systems import SRSystem

    dm = SRDataModule(2, [str(tiny_data["train"])], {"t": [str(tiny_data["val"])]}, patch_size=8, batch_size=4,
                      steps_per_epoch=3, bank=True)  # fmt: skip
    system = SRSystem(FSRCNN(2), torch.nn.L1Loss(), optimizer=lambda n: torch.optim.Adam(n.parameters()))
    trainer = L.Trainer(max_steps=3, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=0, accelerator="cpu", limit_val_batches=0)  # fmt: skip
    trainer.fit(system, datamodule=dm)
    assert trainer.global_step == 3 and dm.train_dataloader().num_workers == 0
    assert dm.bank is not None and len(dm.bank) > 0
    with pytest.raises(ValueError, match="data.bank=true .*data.train_scales"):
        SRDataModule(2, ["a"], {"v": ["b"]}, patch_size=8, bank=True, train_scales=[2, 4])
    with pytest.raises(ValueError, match="data.bank=true .*data.noise_sigma"):
        SRDataModule(2, ["a"], {"v": ["b"]}, patch_size=8, bank=True, noise_sigma=5)


@pytest.mark.parametrize("bank", [True, False])
def test_skip_small_leaves_out_images_smaller_than_the_hr_patch_and_names_them(tmp_path, files, bank, caplog):
    from PIL import Image

    folder = tmp_path / "train"
    folder.mkdir()
    for f in files[:2]:
        (folder / f.name).write_bytes(f.read_bytes())
    Image.new("RGB", (20, 40)).save(folder / "tiny.png")  # 20 px wide < the HR patch of 24
    make = lambda skip: SRDataModule(3, [str(folder)], {"v": ["unused"]}, patch_size=8, bank=bank, skip_small=skip)  # noqa: E731
    with pytest.raises(ValueError, match=r"tiny\.png is 20x40, smaller than the HR patch of 24"):
        make(False)._setup_training()
    dm = make(True)
    with caplog.at_level("INFO", logger="srlab.data.datamodule"):
        dm._setup_training()
    assert "1 of 3 training images are smaller than the HR patch of 24 pixels" in caplog.text and "tiny.png" in caplog.text
    if bank:
        assert len(dm.bank) == len(PatchBank(files[:2], 3, 8, 4, augment=False))
    else:
        assert [f.name for f in dm.train_set.files] == sorted(f.name for f in files[:2])
    (folder / files[0].name).unlink(), (folder / files[1].name).unlink()
    with pytest.raises(ValueError, match="data.skip_small: every training image is smaller than the HR patch of 24"):
        make(True)._setup_training()
    with pytest.raises(ValueError, match="data.skip_small must be true or false"):
        SRDataModule(3, ["a"], {"v": ["b"]}, skip_small="yes")


def test_bank_rescale_cuts_each_image_also_at_matlab_downscaled_sizes(files):
    from srlab.ops import imresize

    plain = PatchBank(files[:1], 2, patch_size=8, stride=6, augment=False)
    both = PatchBank(files[:1], 2, patch_size=8, stride=6, augment=False, rescale=[1.0, 0.5])
    img = torch.from_numpy(read_image(files[0])[0].copy()).permute(2, 0, 1)
    half = imresize(img[None].double() / 255, 0.5, uint8=True)[0].mul(255).round().to(torch.uint8)
    h, w = half.shape[1:]
    assert (h, w) == tuple(-(-n // 2) for n in img.shape[1:])  # MATLAB's ceil(0.5 * size)
    extra = len(grid(h, 16, 12)) * len(grid(w, 16, 12))
    assert len(both) == len(plain) + extra
    assert torch.equal(both.hr[: len(plain)], plain.hr) and torch.equal(both.lr[: len(plain)], plain.lr)
    assert torch.equal(both.hr[len(plain)], half[:, :16, :16])  # the half-size copy's first patch
    tiny = PatchBank(files[:1], 2, patch_size=8, stride=6, augment=False, rescale=[1.0, 0.01])
    assert len(tiny) == len(plain)  # a copy too small for one patch gives none
    with pytest.raises(ValueError, match=r"data.bank_rescale must be factors in \(0, 1\]"):
        PatchBank(files[:1], 2, patch_size=8, stride=6, rescale=[1.0, 1.5])
    with pytest.raises(ValueError, match="data.bank_rescale must be null or a list of factors"):
        SRDataModule(2, ["a"], {"v": ["b"]}, bank=True, bank_rescale=[0])
    with pytest.raises(ValueError, match="data.bank_rescale rescales the patch bank's images: set data.bank=true"):
        SRDataModule(2, ["a"], {"v": ["b"]}, bank=False, bank_rescale=[1, 0.9])

"""Image reading, datasets, samplers, degradation and the sample set."""

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import photo_crops, write_images
from srlab.data import SRDataModule
from srlab.data.datamodule import ShardSampler
from srlab.data.datasets import EvalImages, TrainPatches
from srlab.data.degradation import degrade
from srlab.data.images import list_images, read_image
from srlab.data.sample import TRAIN, VAL, SamplePhotos
from srlab.ops import imresize


def test_read_image_modes(tmp_path):
    rgb = photo_crops([(10, 12)])[0]
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    Image.fromarray(np.dstack([rgb, np.full((10, 12), 7, np.uint8)])).save(tmp_path / "rgba.png")
    Image.fromarray(rgb[..., 0]).save(tmp_path / "grey.png")
    Image.fromarray(rgb[..., 0].astype(np.uint16) * 257).save(tmp_path / "grey16.png")
    img, grey = read_image(tmp_path / "rgb.png")
    assert img.shape == (10, 12, 3) and img.dtype == np.uint8 and not grey
    assert np.array_equal(read_image(tmp_path / "rgba.png")[0], rgb)  # alpha dropped
    for name in ("grey.png", "grey16.png"):
        img, grey = read_image(tmp_path / name)
        assert grey and np.array_equal(img[..., 1], rgb[..., 0]) and np.array_equal(img[..., 2], rgb[..., 0])
    (tmp_path / "broken.png").write_bytes(b"not an image")
    with pytest.raises(OSError, match="broken.png"):
        read_image(tmp_path / "broken.png")


def test_list_images_names_bad_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        list_images([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match="empty holds no images"):
        list_images([tmp_path / "empty"])


def test_eval_images_mod_crop_and_grey(tmp_path):
    files = list_images([write_images(tmp_path, photo_crops([(61, 73), (50, 59)]), grey=(1,))])
    items = [EvalImages(files, scale=3)[i] for i in range(2)]
    assert items[0]["hr"].shape == (3, 60, 72) and items[0]["hr"].dtype == torch.uint8
    assert items[1]["hr"].shape == (3, 48, 57) and items[1]["grey"] and not items[0]["grey"]


def test_train_patches_crop_augment_and_size_check(tmp_path):
    files = list_images([write_images(tmp_path / "ok", photo_crops([(40, 50)] * 2))])
    for cache in (True, False):
        patches = TrainPatches(files, scale=2, patch_size=8, length=5, cache=cache)
        assert len(patches) == 5
        assert patches[3]["hr"].shape == (3, 16, 16) and patches[3]["hr"].dtype == torch.uint8
    small = list_images([write_images(tmp_path / "small", photo_crops([(10, 40)]))])
    with pytest.raises(ValueError, match="img00.png is 40x10"):
        TrainPatches(small, scale=4, patch_size=8, length=1, cache=True)


def test_shard_sampler_scores_each_image_once():
    data = list(range(5))
    shards = [list(ShardSampler(data, num_replicas=2, rank=r)) for r in range(2)]
    assert sorted(shards[0] + shards[1]) == data  # a DistributedSampler would pad to 6
    assert [len(ShardSampler(data, num_replicas=2, rank=r)) for r in range(2)] == [3, 2]


def test_degrade_bicubic_blur_noise():
    hr = torch.randint(0, 256, (2, 3, 24, 24)).float() / 255
    lr = degrade(hr, scale=3)
    assert lr.shape == (2, 3, 8, 8)
    torch.testing.assert_close(lr * 255, (lr * 255).round(), atol=1e-4, rtol=0)  # an 8-bit LR image
    assert (lr - imresize(hr, 1 / 3)).abs().max() <= 1 / 255 + 1e-6
    blurred = degrade(hr, scale=3, blur_sigma=1.2)
    assert (blurred - lr).abs().mean() > 1e-3
    g = lambda: torch.Generator().manual_seed(0)
    noisy = degrade(hr, scale=3, noise_sigma=10, generator=g())
    torch.testing.assert_close(noisy, degrade(hr, scale=3, noise_sigma=10, generator=g()))
    assert (noisy - lr).abs().mean() > 1e-3


def test_datamodule_batches_and_errors(tiny_data):
    dm = SRDataModule(scale=2, train=[str(tiny_data["train"])], val={"tiny": [str(tiny_data["val"])]},
                      patch_size=8, batch_size=3, steps_per_epoch=2, num_workers=0)
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    out = dm.on_after_batch_transfer(batch, 0)
    assert out["hr"].shape == (3, 3, 16, 16) and out["lr"].shape == (3, 3, 8, 8)
    assert out["hr"].dtype == torch.float32 and 0 <= out["hr"].min() and out["hr"].max() <= 1
    val = dm.val_dataloader()
    assert len(val) == 1 and len(val[0]) == 3
    with pytest.raises(ValueError, match="data.scale"):
        SRDataModule(scale=0, train=[], val={"x": []})
    with pytest.raises(ValueError, match="data.val"):
        SRDataModule(scale=2, train=[], val={})


def test_sample_photos_split(tmp_path):
    SamplePhotos(tmp_path)()
    train, val = sorted((tmp_path / "train").iterdir()), sorted((tmp_path / "val").iterdir())
    assert [p.stem for p in train] == sorted(TRAIN) and [p.stem for p in val] == sorted(VAL)
    assert not set(TRAIN) & set(VAL)
    stamp = val[0].stat().st_mtime_ns
    SamplePhotos(tmp_path)()  # already there: nothing rewritten
    assert val[0].stat().st_mtime_ns == stamp
    assert read_image(val[0])[0].ndim == 3


def write_pairs(root, scale: int, sizes: list[tuple[int, int]]):
    """HR photos and their LR images made by our MATLAB bicubic, as DIV2K ships them (`0001x2.png`)."""
    hr_dir, lr_dir = root / "hr", root / "lr"
    lr_dir.mkdir(parents=True)
    write_images(hr_dir, photo_crops(sizes, seed=3))
    for f in list_images([hr_dir]):
        hr = torch.from_numpy(read_image(f)[0].copy()).permute(2, 0, 1)[None].float() / 255
        lr = (imresize(hr, 1 / scale, uint8=True)[0] * 255).round().byte().permute(1, 2, 0).numpy()
        Image.fromarray(lr).save(lr_dir / f"{f.stem}x{scale}.png")
    return hr_dir, lr_dir


def test_paired_folders_align_patches_and_check_sizes(tmp_path):
    hr_dir, lr_dir = write_pairs(tmp_path, 2, [(41, 50), (48, 48)])  # 41 rows: LR has ceil(41 / 2) = 21
    paired = {"hr": [str(hr_dir)], "lr": [str(lr_dir)]}
    dm = SRDataModule(scale=2, train=paired, val={"p": paired}, patch_size=6, batch_size=4, num_workers=0)
    dm.setup("fit")
    batch = dm.on_after_batch_transfer(next(iter(dm.train_dataloader())), 0)
    assert batch["lr"].shape == (4, 3, 6, 6) and batch["hr"].shape == (4, 3, 12, 12)
    # Each LR patch is the bicubic image of its HR patch (up to the borders of the window).
    inner = (imresize(batch["hr"], 1 / 2, uint8=True) - batch["lr"])[..., 2:-2, 2:-2]
    assert inner.abs().max() <= 2 / 255
    item = dm.val_dataloader()[0].dataset[0]
    assert item["hr"].shape == (3, 40, 50) and item["lr"].shape == (3, 20, 25)
    # The wrong scale, a missing LR file, a bad layout: errors name what is wrong.
    with pytest.raises(ValueError, match=r"img00x2.png is 25x21 .* must be 17x14"):
        EvalImages(list_images([hr_dir]), 3, list_images([lr_dir]))[0]
    (lr_dir / "img01x2.png").unlink()
    with pytest.raises(ValueError, match="2 HR images .* but 1 LR images"):
        SRDataModule(scale=2, train=paired, val={"p": paired}, num_workers=0).val_dataloader()
    with pytest.raises(ValueError, match="keys"):
        SRDataModule(scale=2, train={"hr": [str(hr_dir)]}, val={"p": paired}, num_workers=0).setup("fit")


def test_multi_scale_batches(tiny_data):
    class Trainer:  # what on_after_batch_transfer reads from Lightning's trainer
        training, global_step, world_size = True, 0, 1

    dm = SRDataModule(scale=3, train=[str(tiny_data["train"])], val={"t": [str(tiny_data["val"])]},
                      patch_size=8, batch_size=2, num_workers=0, train_scales=[2, 3, 4])
    dm.trainer = Trainer()
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    seen = set()
    for step in range(30):
        dm.trainer.global_step = step
        out = dm.on_after_batch_transfer(batch, 0)
        assert out["hr"].shape[-1] == 24 and out["lr"].shape[-1] == 24 // out["scale"]
        assert dm.on_after_batch_transfer(batch, 0)["scale"] == out["scale"]  # a function of the step
        seen.add(out["scale"])
    assert seen == {2, 3, 4}
    with pytest.raises(ValueError, match="not a multiple of scale 4"):
        SRDataModule(scale=3, train=[], val={"t": []}, patch_size=6, train_scales=[2, 4])

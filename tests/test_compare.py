"""`srlab compare`: the static comparison page, its scores, and the page in headless Chromium."""

import base64
import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from browser import browser, images_loaded, wait_for  # noqa: F401 (a fixture)
from conftest import photo_crops, write_images
from srlab.cli.zoo import main
from srlab.metrics import image_quality

SCALE = 3


@pytest.fixture(scope="module")
def hr_and_sr(tmp_path_factory) -> tuple[Path, Path]:
    """Two HR images (one of a size that is no multiple of 3) and a folder of 'SR' images: HR plus noise,
    each a multiple of 3 (as an SR result of the cropped HR image is)."""
    root = tmp_path_factory.mktemp("compare")
    hr = write_images(root / "hr", photo_crops([(64, 80), (50, 49)], seed=5))
    rng = np.random.default_rng(0)
    (root / "sr").mkdir()
    for file in sorted(hr.iterdir()):
        pixels = np.asarray(Image.open(file))
        h, w = pixels.shape[0] // SCALE * SCALE, pixels.shape[1] // SCALE * SCALE
        noisy = np.clip(pixels[:h, :w].astype(int) + rng.integers(-6, 7, (h, w, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(noisy).save(root / "sr" / f"{file.stem}_x3_SR.png")
    return hr, root / "sr"


@pytest.fixture(scope="module")
def page(hr_and_sr, tmp_path_factory) -> Path:
    hr, sr = hr_and_sr
    out = tmp_path_factory.mktemp("page") / "compare.html"
    main(["compare", str(hr), "--method", "fsrcnn_x3", "--method", f"noisy={sr}", "--region", "24", "--out", str(out)])
    return out


def captions(html: str) -> dict[str, list[str]]:
    """Per image, the captions of its crops in order."""
    out = {}
    for name, body in re.findall(r'<section class="image"[^>]*data-name="([^"]+)"(.*?)</section>', html, re.S):
        out[name] = re.findall(r"<figcaption><b>([^<]+)</b><br>([^<]+)</figcaption>", body)
    return out


def test_page_holds_every_version_with_its_scores(page: Path, hr_and_sr) -> None:
    html = page.read_text()
    found = captions(html)
    assert list(found) == ["img00", "img01"]
    for name, crops in found.items():
        assert [c[0] for c in crops] == ["LR (nearest)", "Bicubic", "fsrcnn_x3", "noisy", "HR"]
        hr = np.asarray(Image.open(hr_and_sr[0] / f"{name}.png"))
        h, w = hr.shape[0] // SCALE * SCALE, hr.shape[1] // SCALE * SCALE
        sr = np.asarray(Image.open(hr_and_sr[1] / f"{name}_x3_SR.png"))
        as_tensor = lambda a: torch.from_numpy(a.transpose(2, 0, 1).copy()).float().div(255)[None]  # noqa: E731
        psnr, ssim = image_quality(as_tensor(sr), as_tensor(hr[:h, :w]), torch.tensor([False]), border=SCALE)
        assert crops[3][1] == f"{psnr.item():.2f} dB / {ssim.item():.4f}"  # the folder's SR, scored as eval.py scores
        psnrs = {label: float(score.split()[0]) for label, score in crops[:-1]}
        assert psnrs["fsrcnn_x3"] > psnrs["Bicubic"] > psnrs["LR (nearest)"]  # a trained net beats bicubic here
    # no network, no server: every image is a data URL inside the page
    sources = re.findall(r'<img[^>]*src="([^"]+)"', html)
    assert len(sources) == 2 * 6 and all(s.startswith("data:image/png;base64,") for s in sources)
    lr = Image.open(io.BytesIO(base64.b64decode(sources[1].split(",", 1)[1])))  # after the HR overview
    assert lr.size == (80 // SCALE, 63 // SCALE)  # the LR image at its own size; the page zooms it by nearest neighbour


def test_images_beside_the_page(hr_and_sr, tmp_path: Path) -> None:
    hr, sr = hr_and_sr
    out = tmp_path / "side.html"
    main(["compare", str(hr / "img01.png"), "--scale", "3", "--method", str(sr), "--beside", "--out", str(out)])
    files = sorted((tmp_path / "side_files").iterdir())
    assert len(files) == 4  # LR, bicubic, the folder's SR, HR
    assert re.findall(r'<img[^>]*src="([^"]+)"', out.read_text())[:2] == ["side_files/000_03.png", "side_files/000_00.png"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "no_such_thing"], "is not a checkpoint file, a folder of SR images or a shipped weight"),
        (["--method", "{sr}"], "--scale is needed when no method is a net"),
        (["--method", "{empty}", "--scale", "3"], "has no file for the HR image img00"),
        (["--method", "fsrcnn_x3", "--scale", "2"], "FSRCNN built at x3 cannot produce x2"),
        (["--method", "Bicubic={sr}", "--scale", "3"], "the label 'Bicubic' is taken"),
    ],
)
def test_errors_name_the_option(args, message, hr_and_sr, tmp_path: Path, caplog) -> None:
    (tmp_path / "empty").mkdir()
    Image.new("RGB", (9, 9)).save(tmp_path / "empty" / "other.png")
    args = [a.format(sr=hr_and_sr[1], empty=tmp_path / "empty") for a in args]
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", str(hr_and_sr[0]), *args, "--out", str(tmp_path / "x.html")])
    assert exit_info.value.code == 1
    assert message in caplog.text
    assert not (tmp_path / "x.html").exists()


def test_page_in_chromium(page: Path, browser, tmp_path: Path) -> None:  # noqa: F811
    browser.get(page.as_uri())
    loaded = images_loaded(browser)
    assert len(loaded) == 12 and all(width > 0 for _, width in loaded), loaded
    shot = tmp_path / "compare.png"
    browser.save_screenshot(str(shot))
    assert Image.open(shot).size[0] > 0 and shot.stat().st_size > 10_000

    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    section = browser.find_elements(By.CSS_SELECTOR, "section.image")[0]
    crops = section.find_element(By.CSS_SELECTOR, ".crops")
    region = section.get_attribute("data-region")
    before = crops.screenshot_as_png
    x, y, size = map(int, region.split(","))
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)  # the first image's region is active
    moved = section.get_attribute("data-region")
    assert moved == f"{x + size // 4},{y},{size}"
    after = crops.screenshot_as_png
    assert after != before  # the crops show another part of the image
    # the crops of one image show the same region: each image is shifted by the same CSS offset
    transforms = browser.execute_script(
        "return [...arguments[0].querySelectorAll('.view img')].map((i) => i.style.transform)", section
    )
    assert len(set(transforms)) == 1 and transforms[0] != ""

    # a click on the overview centres the region there (the top left corner: the region starts at 0, 0)
    overview = section.find_element(By.CSS_SELECTOR, ".frame")
    browser.execute_script(
        "const r = arguments[0].getBoundingClientRect();"
        "arguments[0].dispatchEvent(new MouseEvent('click', {clientX: r.left + 1, clientY: r.top + 1, bubbles: true}))",
        overview,
    )
    assert wait_for(browser, "document.querySelector('section.image').dataset.region") == f"0,0,{size}"
    assert crops.screenshot_as_png not in (before, after)

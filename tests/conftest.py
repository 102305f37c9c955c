"""Shared fixtures: tiny image folders made from scikit-image photos, and composed train configs."""

import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("SRLAB_ROOT", str(ROOT))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("WANDB_SILENT", "true")


def photo_crops(sizes: list[tuple[int, int]], seed: int = 0) -> list[np.ndarray]:
    """Crops of (h, w) pixels from scikit-image's astronaut, coffee and chelsea photos."""
    from skimage import data

    photos = [data.astronaut(), data.coffee(), data.chelsea()]
    rng = np.random.default_rng(seed)
    crops = []
    for i, (h, w) in enumerate(sizes):
        img = photos[i % len(photos)]
        top = rng.integers(0, img.shape[0] - h + 1)
        left = rng.integers(0, img.shape[1] - w + 1)
        crops.append(img[top : top + h, left : left + w])
    return crops


def write_images(folder: Path, images: list[np.ndarray], grey: tuple[int, ...] = ()) -> Path:
    """Write `images` as PNG files into `folder`; indices in `grey` are saved as 8-bit grey."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(images):
        pil = Image.fromarray(img)
        if i in grey:
            pil = pil.convert("L")
        pil.save(folder / f"img{i:02d}.png")
    return folder


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """train/: 3 colour images of 96x96; val/: 3 images (one grey), sizes not multiples of 2, 3 or 4."""
    root = tmp_path_factory.mktemp("tiny_data")
    train = write_images(root / "train", photo_crops([(96, 96)] * 3, seed=1))
    val = write_images(root / "val", photo_crops([(61, 73), (50, 59), (67, 55)], seed=2), grey=(2,))
    return {"root": root, "train": train, "val": val}


def tiny_overrides(tiny_data: dict[str, Path], out: Path) -> list[str]:
    """Overrides for a seconds-long run on `tiny_data`, writing under `out`."""
    return [
        "data=folder",
        f"data.train=[{tiny_data['train']}]",
        f"data.val={{tiny:[{tiny_data['val']}]}}",
        "data.num_workers=0",
        "data.batch_size=4",
        "data.patch_size=16",
        "data.steps_per_epoch=4",
        "trainer.max_steps=8",
        "trainer.accelerator=cpu",
        "logger=csv",
        f"paths.log_dir={out}",
        f"paths.data_dir={out}/data",
    ]


def compose_train(overrides: list[str], output_dir: Path, config_name: str = "train"):
    """The composed `train` (or `config_name`) config, as `python train.py <overrides>` would see it,
    with the run directory `output_dir`."""
    from hydra import compose, initialize_config_dir
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(config_name=config_name, overrides=overrides, return_hydra_config=True)
    output_dir.mkdir(parents=True, exist_ok=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
        HydraConfig.instance().set_config(cfg)
        del cfg["hydra"]
    return cfg


def run_cli(script: str, args: list[str], timeout: int = 300) -> subprocess.CompletedProcess:
    """Run `python <script> <args>` from the repository root; fail the test with its output on error."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / script), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        pytest.fail(f"{script} {' '.join(args)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


def random_vgg(cfg, path: str = "loss") -> list[str]:
    """Overrides that leave every VGG of the loss at random weights: tests never download them."""
    from omegaconf import DictConfig, OmegaConf

    node = OmegaConf.select(cfg, path)
    if not isinstance(node, DictConfig):
        return []
    found = [f"{path}.pretrained=false"] if "pretrained" in node else []
    return found + [o for key in node if key != "pretrained" for o in random_vgg(cfg, f"{path}.{key}")]


# --- a download server on 127.0.0.1 (tests never reach another address) -------------------------
class Handler(BaseHTTPRequestHandler):
    """Serves `server.files` ({path: (bytes, content type)}); honours Range unless `server.ranges` is false."""

    def do_GET(self) -> None:
        self.server.requests.append(self.headers.get("Range"))
        if self.path not in self.server.files:
            self.send_error(404)
            return
        body, content_type = self.server.files[self.path]
        start = 0
        if self.headers.get("Range") and self.server.ranges:
            start = int(self.headers["Range"].removeprefix("bytes=").split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        self.wfile.write(body[start:])

    def log_message(self, *args) -> None:
        pass


class LocalServer:
    def __init__(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.files, self.httpd.requests, self.httpd.ranges = {}, [], True
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"

    def serve(self, name: str, body: bytes, content_type: str = "application/octet-stream") -> str:
        self.httpd.files[f"/{name}"] = (body, content_type)
        return self.url(name)


@pytest.fixture
def server():
    local = LocalServer()
    yield local
    local.httpd.shutdown()
    local.httpd.server_close()


def closed_port_url(name: str) -> str:
    """A URL on 127.0.0.1 where nothing listens: connections are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/{name}"

"""`srlab compare`: a static HTML page that shows methods side by side on zoomed crops of one region.

    srlab compare data/Set5 --method fsrcnn_x3 --method mine=logs/train/.../checkpoints/best.ckpt
    srlab compare img.png --scale 4 --method esrgan=results/esrgan_x4/ --out compare.html --beside

For each HR image (files or folders), the page shows the HR image with a region on it and, as crops of that
region zoomed with nearest-neighbour pixels: the LR image, bicubic, each method's SR and HR, each with its
PSNR/SSIM against HR (the paper protocol: Y channel, `scale` border cropped). A click on the HR image or the
arrow keys (Shift: a region's width) move the region; + and - resize it. The page needs no server and no
network: images are embedded in it, or with `--beside` written as PNG files into `<page>_files/`.

A method is `[LABEL=]SOURCE`: a checkpoint of train.py, a shipped weight (`srlab models` lists them) or a
folder of SR images (eval.py's saved images, or another tool's) named after the HR files (`baby.png`, or
`baby_<anything>.png`).
"""

import argparse
import base64
import html
import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from srlab.cli.checkpoint import load_net, pretrained_net
from srlab.data.datasets import EvalImages
from srlab.data.images import list_images, read_image
from srlab.inference.compare import Version, versions
from srlab.models.contract import SRNet, check_scale
from srlab.pretrained import names

WEB = Path(__file__).resolve().parent / "web"
Method = SRNet | Path  # a net, or a folder of SR images


def add_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "compare", help="a static HTML page of zoomed crops: LR, bicubic, each method, HR", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("images", nargs="+", type=Path, help="HR image files or folders")
    parser.add_argument("--method", action="append", default=[], metavar="[LABEL=]SOURCE",
                        help="a checkpoint, a shipped weight or a folder of SR images (repeat for several)")  # fmt: skip
    parser.add_argument("--scale", type=int, help="the scale (default: the first net's)")
    parser.add_argument("--region", type=int, default=48, help="the region's side in HR pixels at first (48)")
    parser.add_argument("--out", type=Path, default=Path("compare.html"), help="the page to write (compare.html)")
    parser.add_argument("--beside", action="store_true", help="write the images into <page>_files/, not into the page")
    parser.set_defaults(run=run)


def parse_methods(specs: list[str]) -> dict[str, Method]:
    """`[LABEL=]SOURCE` -> {label: net or SR folder}."""
    methods: dict[str, Method] = {}
    for spec in specs:
        head, _, tail = spec.partition("=")
        label, source = (head, tail) if tail and "/" not in head else ("", spec)
        path = Path(source)
        if path.is_dir():
            method: Method = path
        elif path.is_file():
            method = load_net(path)
        elif source in names():
            method = pretrained_net(source)
        else:
            raise ValueError(
                f"--method {spec}: {source} is not a checkpoint file, a folder of SR images or a shipped weight "
                f"({', '.join(names())})"
            )
        label = label or (path.name if isinstance(method, Path) else source if source in names() else type(method).__name__)
        if label in methods or label in ("LR (nearest)", "Bicubic", "HR"):
            raise ValueError(f"--method {spec}: the label {label!r} is taken; name it: --method OTHER={source}")
        methods[label] = method
    return methods


def method_scale(methods: dict[str, Method], scale: int | None) -> int:
    """The scale asked for, or the first net's; every net must be able to produce it."""
    nets = {label: m for label, m in methods.items() if isinstance(m, SRNet)}
    if scale is None:
        if not nets:
            raise ValueError("--scale is needed when no method is a net (a checkpoint or a shipped weight)")
        scale = next(iter(nets.values())).scale
    for label, net in nets.items():
        check_scale(net, scale, f"--method {label}, --scale {scale}")
    return scale


def sr_file(folder: Path, stem: str) -> Path:
    """The SR image of the HR file `stem` in `folder`: `stem.*`, or else the one `stem_*.*`."""
    files = list_images(folder)
    exact = [f for f in files if f.stem == stem]
    found = exact or [f for f in files if f.stem.startswith(f"{stem}_")]
    if len(found) != 1:
        what = "no file" if not found else f"{len(found)} files ({', '.join(f.name for f in found)})"
        raise FileNotFoundError(f"SR folder {folder} has {what} for the HR image {stem}: name it {stem}.png")
    return found[0]


def image_versions(hr_file: Path, scale: int, methods: dict[str, Method]) -> tuple[str, list[Version]]:
    """The HR image (cropped to a multiple of `scale`) and its versions."""
    item = EvalImages([hr_file], scale)[0]
    hr = item["hr"][None].float().div(255)
    inputs: dict[str, SRNet | torch.Tensor] = {}
    for label, method in methods.items():
        if isinstance(method, Path):
            pixels = read_image(sr_file(method, hr_file.stem))[0]
            inputs[label] = torch.from_numpy(np.ascontiguousarray(pixels).transpose(2, 0, 1)).float().div(255)[None]
        else:
            inputs[label] = method
    return item["name"], versions(hr, item["grey"], scale, inputs)


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def run(args: argparse.Namespace) -> None:
    methods = parse_methods(args.method)
    scale = method_scale(methods, args.scale)
    files = list_images(args.images)
    assets = args.out.with_name(f"{args.out.stem}_files")
    if args.beside:
        assets.mkdir(parents=True, exist_ok=True)
    sections = []
    for index, hr_file in enumerate(files):
        name, found = image_versions(hr_file, scale, methods)
        sources = []
        for j, version in enumerate(found):
            data = png_bytes(version.pixels)
            if args.beside:
                (assets / f"{index:03d}_{j:02d}.png").write_bytes(data)
                sources.append(f"{assets.name}/{index:03d}_{j:02d}.png")
            else:
                sources.append("data:image/png;base64," + base64.b64encode(data).decode())
        sections.append(section(name, scale, found, sources, args.region))
        print(f"{name}: " + ", ".join(f"{v.name} {score(v)}" for v in found[:-1]))
    page = (WEB / "compare.html").read_text()
    title = f"srlab compare: x{scale}, {', '.join(['Bicubic', *methods])}"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(page.replace("{{title}}", html.escape(title)).replace("{{sections}}", "\n".join(sections)))
    print(f"wrote {args.out}" + (f" and {len(files) * (len(methods) + 3)} images in {assets}" if args.beside else ""))


def score(version: Version) -> str:
    return "the reference" if version.name == "HR" else f"{version.psnr:.2f} dB / {version.ssim:.4f}"


def section(name: str, scale: int, found: list[Version], sources: list[str], region: int) -> str:
    """One image's part of the page: the HR overview with the region's box, and a crop per version."""
    height, width = found[-1].pixels.shape[:2]
    size = max(1, min(region, width, height))
    x, y = (width - size) // 2, (height - size) // 2
    crops = "\n".join(
        f'<figure class="crop" data-method="{html.escape(v.name)}"><div class="view"><img alt="{html.escape(v.name)}" '
        f'src="{src}"></div><figcaption><b>{html.escape(v.name)}</b><br>{score(v)}</figcaption></figure>'
        for v, src in zip(found, sources)
    )
    return (
        f'<section class="image" tabindex="0" data-name="{html.escape(name)}" data-width="{width}" '
        f'data-height="{height}" data-region="{x},{y},{size}">\n<h2>{html.escape(name)} (x{scale}, {width}x{height})</h2>\n<div class="layout">\n'
        f'<div class="overview"><div class="frame"><img class="hr" alt="HR {html.escape(name)}" src="{sources[-1]}" '
        f'style="width: {min(400, max(320, width))}px"><div class="box"></div></div><p class="where"></p></div>\n'
        f'<div class="crops">\n{crops}\n</div>\n</div>\n</section>'
    )

"""The benchmark harness: training, inference and tool speed of srlab against plain PyTorch, side by side in one
process on the same data, written to JSON (`benchmarks/render.py` turns it into the README's tables).

    python benchmarks/run.py --data data/T91                       # CPU: all sections, all models
    python benchmarks/run.py --data data/T91 --only inference --models fsrcnn_x3 espcn_x3
    python benchmarks/run.py --data data/T91 --device cuda         # on a GPU: adds bf16 and CUDA graphs
    python benchmarks/run.py --quick ...                           # a few steps and frames: checks it runs

The JSON (default `benchmarks/results/<device type>.json`) keeps the sections of earlier runs that this
run did not measure.

Sections:
- `training`: it/s, images/s and peak memory of a plain reference loop (numpy crops in the main process,
  `F.interpolate` bicubic LR, Adam) against srlab's Lightning run with the patch bank and with the worker
  loader, at each model's paper batch and patch size; the ratio is srlab / plain.
- `knobs`: the plain loop for FSRCNN x3 (batch 32 of 16x16 LR patches) with one CPU knob changed at a time:
  channels_last, `torch.compile`, 1 thread, the deconvolution as convolution + pixel shuffle, batch 64, LR
  patch 24; the ratio is of LR pixels per second against the eager row.
- `inference`: frames/s of the net at a 240x240 input and at 1920x1080 output, in modes fp32 eager,
  channels_last, `fast` (srlab's exact rewrites, `srlab.inference.fast`), `torch.compile` and ONNX Runtime (`upscale.py runtime=onnxruntime`);
  on CUDA also bf16 autocast and CUDA graphs. Each mode gets the fraction of the compute roofline (FLOPs per
  frame / peak FLOP/s measured here with a large matmul) and of the memory roofline (bytes per frame,
  counted as weights plus each layer's output written and read once, / copy bandwidth measured here).
- `tools`: wall time of `eval.py model=bicubic` on `--eval-sets` (HR megapixels per second, start-up
  included and not), of `upscale.py pretrained=fsrcnn_x4` per output megapixel, and of the same on the first
  `--eval-sets` folder with decoding, compute and encoding overlapped (as shipped) against one after another.

Run it on an idle machine: every figure is a best-of or a rate over many steps, but two jobs at once
halve each other.
"""

import argparse
import copy
import json
import logging
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from srlab.data.images import list_images, read_image
from srlab.inference import OnnxRuntimeNet
from srlab.inference.fast import fast_net
from srlab.models import EDSR, ESPCN, FSRCNN, RRDBNet, VDSR
from srlab.models.blocks import deconv_as_subpixel
from srlab.models.contract import SRNet
from srlab.ops import rgb_to_y

ROOT = Path(__file__).resolve().parents[1]
# name: (factory, scale, paper batch, paper LR patch) as the recipes of conf/experiment give them.
MODELS: dict[str, tuple[Callable[[], SRNet], int, int, int]] = {
    "fsrcnn_x3": (lambda: FSRCNN(3), 3, 128, 7),
    "espcn_x3": (lambda: ESPCN(3), 3, 64, 17),
    "vdsr_x2": (lambda: VDSR(2), 2, 64, 20),
    "edsr_baseline_x2": (lambda: EDSR(2, num_features=64, num_blocks=16, res_scale=1.0), 2, 16, 48),
    "rrdb_x4": (lambda: RRDBNet(4), 4, 16, 32),
    "fsrcnn_x4": (lambda: FSRCNN(4), 4, 128, 8),
    "espcn_x4": (lambda: ESPCN(4), 4, 64, 17),
}
TRAINED = ["fsrcnn_x3", "espcn_x3", "vdsr_x2", "edsr_baseline_x2", "rrdb_x4"]  # the training section's models
HEAVY = {"vdsr_x2", "edsr_baseline_x2", "rrdb_x4"}  # seconds per step or frame on a CPU


# ---------------------------------------------------------------------------------------------- machine


def hardware(device: torch.device) -> dict:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "threads": torch.get_num_threads(), "torch": torch.__version__,
            "device": str(device), "python": platform.python_version()}  # fmt: skip
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def ceilings(device: torch.device, quick: bool) -> dict:
    """Peak FLOP/s (fp32 matmul; on CUDA also bf16) and copy bandwidth, measured on `device`."""
    n = 1024 if quick else (8192 if device.type == "cuda" else 2048)

    def best(fn: Callable[[], object], repeats: int = 5) -> float:
        fn()
        sync(device)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            sync(device)
            times.append(time.perf_counter() - start)
        return min(times)

    out = {}
    for dtype in [torch.float32] + ([torch.bfloat16] if device.type == "cuda" else []):
        a = torch.randn(n, n, device=device, dtype=dtype)
        out[f"peak_gflops_{str(dtype).removeprefix('torch.')}"] = 2 * n**3 / best(lambda: a @ a) / 1e9
    x = torch.ones(2**24 if quick else 2**26, device=device)  # 64 MB or 256 MB of float32
    y = torch.empty_like(x).fill_(0)  # touched: no page faults inside the timing
    out["bandwidth_gbs"] = 2 * x.numel() * 4 / best(lambda: y.copy_(x)) / 1e9
    return out


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --------------------------------------------------------------------------------------------- training


def net_batch(net: SRNet, lr: Tensor, hr: Tensor, scale: int) -> tuple[Tensor, Tensor]:
    """What the net consumes and what it is scored against: Y or RGB, bicubic-upscaled for pre-upsampled nets."""
    if net.pre_upsampled:
        lr = F.interpolate(lr, scale_factor=scale, mode="bicubic", align_corners=False)
    if net.in_channels == 1:
        return rgb_to_y(lr), rgb_to_y(hr)
    return lr, hr


def plain_loop(net: SRNet, images: list[np.ndarray], scale: int, batch: int, patch: int, steps: int,
               device: torch.device, channels_last: bool = False, compile: bool = False) -> float:  # fmt: skip
    """it/s of the reference: numpy crops in the main process, `F.interpolate` LR, L1, Adam."""
    rng = np.random.default_rng(0)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    net = net.to(device, memory_format=memory_format).train()
    opt = torch.optim.Adam(net.parameters(), 1e-4)
    forward = torch.compile(net) if compile else net
    hp = patch * scale
    big = [im for im in images if min(im.shape[:2]) >= hp]

    def crops() -> Tensor:
        out = []
        for _ in range(batch):
            im = big[rng.integers(len(big))]
            y, x = rng.integers(im.shape[0] - hp + 1), rng.integers(im.shape[1] - hp + 1)
            out.append(im[y : y + hp, x : x + hp])
        return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).to(device).float().div_(255)

    warmup = max(1, steps // 10)
    for i in range(warmup + steps):
        if i == warmup:
            sync(device)
            start = time.perf_counter()
        hr = crops()
        lr = F.interpolate(hr, scale_factor=1 / scale, mode="bicubic", antialias=True).clamp_(0, 1)
        x, target = net_batch(net, lr, hr, scale)
        loss = F.l1_loss(forward(x.contiguous(memory_format=memory_format)), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    sync(device)
    return steps / (time.perf_counter() - start)


def srlab_run(factory: Callable[[], SRNet], folder: Path, scale: int, batch: int, patch: int, steps: int,
              device: torch.device, bank: bool) -> float:  # fmt: skip
    """it/s of srlab's own Lightning run as `train.py` builds it (no validation, no logger)."""
    import lightning as L

    from srlab.data import SRDataModule
    from srlab.systems import SRSystem
    from srlab.systems.optim import make_optimizer

    warmup = max(1, steps // 10)

    class Timer(L.Callback):
        def on_train_batch_start(self, trainer: L.Trainer, *args: object) -> None:
            if trainer.global_step == warmup:
                sync(device)
                self.start = time.perf_counter()

        def on_train_end(self, trainer: L.Trainer, *args: object) -> None:
            sync(device)
            self.rate = (trainer.global_step - warmup) / (time.perf_counter() - self.start)

    data = SRDataModule(scale, [str(folder)], {"val": [str(folder)]}, patch_size=patch, batch_size=batch,
                        steps_per_epoch=warmup + steps, num_workers=0 if bank else 2, bank=bank,
                        skip_small=True)  # fmt: skip
    system = SRSystem(factory(), nn.L1Loss(), lambda net: make_optimizer(net, "torch.optim.Adam", lr=1e-4))
    timer = Timer()
    trainer = L.Trainer(accelerator=device.type, devices=1, max_steps=warmup + steps, limit_val_batches=0,
                        logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, callbacks=[timer])  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("lightning").setLevel(logging.WARNING)
        trainer.fit(system, datamodule=data)
    return timer.rate


def training(models: list[str], folder: Path, device: torch.device, quick: bool) -> list[dict]:
    images = [read_image(f)[0] for f in list_images([folder])]
    rows = []
    for name in models:
        factory, scale, batch, patch = MODELS[name]
        steps = 3 if quick else (2 if name in HEAVY and device.type == "cpu" else 200)
        row = {"model": name, "scale": scale, "batch": batch, "lr_patch": patch, "steps": steps}
        torch.manual_seed(0)
        for case, run in (
            ("plain", lambda: plain_loop(factory(), images, scale, batch, patch, steps, device)),
            ("bank", lambda: srlab_run(factory, folder, scale, batch, patch, steps, device, bank=True)),
            ("loader", lambda: srlab_run(factory, folder, scale, batch, patch, steps, device, bank=False)),
        ):
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            rate = run()
            row[case] = {"it_s": rate, "images_s": rate * batch, "peak_memory_mb": peak_memory_mb(device)}
        for case in ("bank", "loader"):
            row[case]["ratio"] = row[case]["it_s"] / row["plain"]["it_s"]
        print(f"training {name}: plain {row['plain']['it_s']:.2f} it/s, bank {row['bank']['it_s']:.2f} "
              f"({row['bank']['ratio']:.2f}x), loader {row['loader']['it_s']:.2f} ({row['loader']['ratio']:.2f}x)",
              flush=True)  # fmt: skip
        rows.append(row)
    return rows


def knobs(folder: Path, device: torch.device, quick: bool) -> list[dict]:
    """The plain loop for FSRCNN x3 at batch 32 of 16x16 LR patches with one CPU knob changed at a time:
    it/s, and LR pixels per second where batch or patch size change."""
    images = [read_image(f)[0] for f in list_images([folder])]
    steps = 3 if quick else 150

    def subpixel() -> SRNet:
        net = FSRCNN(3)
        with torch.no_grad():  # the same function, trained as a convolution + pixel shuffle
            net.deconvolution = deconv_as_subpixel(net.deconvolution)
        return net

    threads = torch.get_num_threads()
    base = {"factory": lambda: FSRCNN(3), "batch": 32, "patch": 16, "threads": threads, "options": {}}
    changes: dict[str, dict] = {
        "eager": {},
        "channels_last": {"options": {"channels_last": True}},
        "torch.compile": {"options": {"compile": True}},
        "1 thread": {"threads": 1},
        "deconvolution as convolution + pixel shuffle": {"factory": subpixel},
        "batch 64": {"batch": 64},
        "LR patch 24": {"patch": 24},
    }
    if quick:  # a compile takes half a minute on a CPU
        del changes["torch.compile"]
    rows = []
    for case, change in changes.items():
        c = base | change
        torch.manual_seed(0)
        torch.set_num_threads(c["threads"])
        try:
            rate = plain_loop(c["factory"](), images, 3, c["batch"], c["patch"], steps, device, **c["options"])
        finally:
            torch.set_num_threads(threads)
        rows.append({"case": case, "batch": c["batch"], "lr_patch": c["patch"], "threads": c["threads"], "it_s": rate,
                     "lr_mpixels_s": rate * c["batch"] * c["patch"] ** 2 / 1e6})  # fmt: skip
        print(f"knobs, FSRCNN x3 plain loop, {case}: {rate:.2f} it/s", flush=True)
    for row in rows:
        row["ratio"] = row["lr_mpixels_s"] / rows[0]["lr_mpixels_s"]
    return rows


# -------------------------------------------------------------------------------------------- inference


def frame_cost(net: SRNet, x: Tensor) -> tuple[float, float]:
    """FLOPs and bytes of one frame: bytes are the weights plus every leaf module's output, written once
    and read once (float32), plus the input."""
    written = []
    hooks = [m.register_forward_hook(lambda m, i, o: written.append(o.numel()))
             for m in net.modules() if not list(m.children())]  # fmt: skip
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(x)
    for h in hooks:
        h.remove()
    weights = sum(p.numel() for p in net.parameters())
    return counter.get_total_flops(), 4 * (weights + x.numel() + 2 * sum(written))


def modes(net: SRNet, x: Tensor, device: torch.device, quick: bool, full: bool = True) -> dict[str, Callable[[], Callable]]:
    """Each mode as a builder of a callable frame -> output (built lazily: compiling takes a while); without
    `full` (a net that takes seconds per frame on a CPU), eager and fast alone."""
    eager = net.to(device).eval()

    def channels_last() -> Callable:
        cl = copy.deepcopy(net).to(device, memory_format=torch.channels_last)
        return lambda t: cl(t.contiguous(memory_format=torch.channels_last))

    def compiled() -> Callable:
        import torch._inductor.config as inductor

        inductor.freezing = True  # weights as constants: oneDNN prepacks them
        return torch.compile(fast_net(net, eager=False).to(device))

    def onnx() -> Callable:  # what `upscale.py runtime=onnxruntime` runs
        return OnnxRuntimeNet(fast_net(net, eager=False).cpu())

    out: dict[str, Callable[[], Callable]] = {
        "eager": lambda: eager,
        "channels_last": channels_last,
        "fast": lambda: fast_net(net).to(device),
    }
    if not full and device.type == "cpu":
        return {k: out[k] for k in ("eager", "fast")}
    if not quick:
        out["compile"] = compiled
    if device.type == "cpu":
        out["onnxruntime"] = onnx
    else:
        out["bf16"] = lambda: bf16(fast_net(net).to(device))
        out["cuda_graphs"] = lambda: cuda_graph(fast_net(net).to(device), x)
    return out


def bf16(net: nn.Module) -> Callable[[Tensor], Tensor]:
    """The net under bf16 autocast on its device (the GPU mode; on a CPU only for tests)."""

    def run(x: Tensor) -> Tensor:
        with torch.autocast(x.device.type, torch.bfloat16):
            return net(x)

    return run


def cuda_graph(net: nn.Module, x: Tensor) -> Callable[[Tensor], Tensor]:
    """One frame of `net` (bf16 autocast) captured as a CUDA graph and replayed on a static input."""
    static_in = x.clone()
    run = bf16(net)
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream), torch.no_grad():
        for _ in range(3):
            run(static_in)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph), torch.no_grad():
        static_out = run(static_in)

    def replay(t: Tensor) -> Tensor:
        static_in.copy_(t)
        graph.replay()
        return static_out

    return replay


def frames_per_second(fn: Callable, x: Tensor, device: torch.device, budget_s: float) -> float:
    """Best-of frames/s after a warm-up, timing batches of frames until `budget_s` is spent."""
    with torch.inference_mode():
        fn(x)
        sync(device)
        best, spent = float("inf"), 0.0
        while spent < budget_s or best == float("inf"):
            start = time.perf_counter()
            fn(x)
            sync(device)
            took = time.perf_counter() - start
            best, spent = min(best, took), spent + took
    return 1 / best


def inference(models: list[str], device: torch.device, limits: dict, quick: bool) -> list[dict]:
    rows = []
    for name in models:
        factory, scale, _, _ = MODELS[name]
        torch.manual_seed(0)
        net = factory().eval()
        sizes = {"240x240 input": (240, 240), "1080p output": (1080 // scale, 1920 // scale)}
        if quick:
            sizes = {"48x48 input": (48, 48)}
        for label, (h, w) in sizes.items():
            if name in HEAVY and device.type == "cpu" and not quick and label == "1080p output":
                continue  # minutes per frame on a CPU
            c = net.in_channels
            x = torch.rand(1, c, scale * h if net.pre_upsampled else h, scale * w if net.pre_upsampled else w,
                           device=device)  # fmt: skip
            flops, nbytes = frame_cost(net.to(device), x)
            row = {"model": name, "size": label, "input": list(x.shape), "gflop_per_frame": flops / 1e9,
                   "mb_per_frame": nbytes / 2**20, "modes": {}}  # fmt: skip
            heavy = name in HEAVY and device.type == "cpu"
            budget = 0.5 if quick else 0.0 if heavy else 3.0
            for mode, build in modes(net, x, device, quick, full=not heavy).items():
                if mode == "compile" and label == "1080p output" and device.type == "cpu":
                    continue  # a compile per frame size costs half a minute on a CPU: the 240x240 one shows it
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        start = time.perf_counter()
                        fn = build()
                        fps = frames_per_second(fn, x, device, budget)
                        setup = time.perf_counter() - start
                except Exception as err:  # noqa: BLE001 (a mode that does not run is reported, not fatal)
                    row["modes"][mode] = {"error": f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"}
                    continue
                peak = limits[f"peak_gflops_{'bfloat16' if mode in ('bf16', 'cuda_graphs') else 'float32'}"]
                row["modes"][mode] = {"fps": fps, "compute_roofline": fps * flops / 1e9 / peak,
                                      "memory_roofline": fps * nbytes / 1e9 / limits["bandwidth_gbs"],
                                      "setup_s": setup}  # fmt: skip
            print(f"inference {name} {label}: " + ", ".join(
                f"{m} {v['fps']:.1f}" if "fps" in v else f"{m} failed" for m, v in row["modes"].items()) + " fps",
                flush=True)  # fmt: skip
            rows.append(row)
    return rows


# ------------------------------------------------------------------------------------------------ tools


def run_tool(args: list[str]) -> float:
    env = os.environ | {"NO_ALBUMENTATIONS_UPDATE": "1", "WANDB_MODE": "offline"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return took


def tools(eval_sets: list[Path], quick: bool) -> dict:
    out: dict = {}
    work = Path(tempfile.mkdtemp())
    if eval_sets:
        pixels = 0
        for folder in eval_sets:
            for f in list_images([folder]):
                h, w = read_image(f)[0].shape[:2]
                pixels += sum((h // s * s) * (w // s * s) for s in (2, 3, 4))
        sets = ",".join(f"s{i}:[{Path(f).resolve()}]" for i, f in enumerate(eval_sets))
        common = ["eval.py", "model=bicubic", "data=folder", "data.train=[]", f"data.val={{{sets}}}", "~logger"]
        seconds = run_tool([*common, f"hydra.run.dir={work / 'eval'}"])
        startup = run_tool(["eval.py", "model=bicubic", "data=folder", "data.train=[]",
                            f"data.val={{s:[{_tiny(work, 64).parent}]}}", "scales=[2]", "~logger",
                            f"hydra.run.dir={work / 'eval0'}"])  # fmt: skip
        out["eval"] = {"sets": [str(f) for f in eval_sets], "hr_megapixels": pixels / 1e6, "wall_s": seconds,
                       "startup_s": startup, "mp_per_s": pixels / 1e6 / seconds,
                       "mp_per_s_after_startup": pixels / 1e6 / max(seconds - startup, 1e-9)}  # fmt: skip
        print(f"eval.py: {pixels / 1e6:.1f} HR MP in {seconds:.1f} s (start-up {startup:.1f} s)", flush=True)
    side = 256 if quick else 1024
    image = work / "in" / "photo.png"
    image.parent.mkdir()
    import cv2

    cv2.imwrite(str(image), np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8))
    base = ["upscale.py", "pretrained=fsrcnn_x4", f"input={image}", "device=cpu"]
    seconds = run_tool([*base, f"output={work / 'out'}", f"hydra.run.dir={work / 'up'}"])
    startup = run_tool([*base, f"input={_tiny(work, 8)}", f"output={work / 'out0'}", f"hydra.run.dir={work / 'up0'}"])
    megapixels = (4 * side) ** 2 / 1e6
    out["upscale"] = {"input": f"{side}x{side}", "output_megapixels": megapixels, "wall_s": seconds,
                      "startup_s": startup, "s_per_output_mp": (seconds - startup) / megapixels}  # fmt: skip
    print(f"upscale.py FSRCNN x4 {side}x{side}: {seconds:.1f} s (start-up {startup:.1f} s)", flush=True)
    out["upscale_folder"] = upscale_folder(eval_sets[0] if eval_sets else image.parent, work, quick)
    return out


def upscale_folder(folder: Path, work: Path, quick: bool) -> dict:
    """`upscale.py pretrained=fsrcnn_x4` on `folder`, with `io_threads=true` (decoding and encoding in threads
    while the net runs) and without, alternately, best of 2: what the overlap gains or costs."""
    times: dict[str, list[float]] = {"overlapped": [], "sequential": []}
    base = ["upscale.py", "pretrained=fsrcnn_x4", f"input={folder}", "device=cpu", "overwrite=true"]
    for _ in range(1 if quick else 2):
        for mode, value in (("overlapped", "true"), ("sequential", "false")):
            args = [*base, f"io_threads={value}", f"output={work / mode}", f"hydra.run.dir={work / (mode + '-run')}"]
            times[mode].append(run_tool(args))
    images = list_images([folder])
    out = {"folder": str(folder), "images": len(images)} | {f"{k}_s": min(v) for k, v in times.items()}
    out["ratio"] = out["sequential_s"] / out["overlapped_s"]
    print(f"upscale.py FSRCNN x4 on {len(images)} images: io_threads=true {out['overlapped_s']:.1f} s, "
          f"false {out['sequential_s']:.1f} s ({out['ratio']:.2f}x)", flush=True)  # fmt: skip
    return out


def _tiny(work: Path, side: int) -> Path:
    """A `side` x `side` image alone in its folder: what start-up alone costs."""
    import cv2

    path = work / f"tiny{side}" / "tiny.png"
    path.parent.mkdir(exist_ok=True)
    cv2.imwrite(str(path), np.zeros((side, side, 3), np.uint8))
    return path


# ------------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "T91", help="HR training images (training)")
    parser.add_argument("--eval-sets", type=Path, nargs="*", default=[], help="HR folders for eval.py's time")
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS),
                        help="default: all; training takes those of TRAINED among them")
    parser.add_argument("--only", nargs="*", default=["training", "knobs", "inference", "tools"],
                        choices=["training", "knobs", "inference", "tools"])  # fmt: skip
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="a few steps and small frames: checks that it runs")
    parser.add_argument("--output", type=Path, default=None, help="JSON file (default benchmarks/results/<device>.json)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    command = " ".join(["python benchmarks/run.py", *(sys.argv[1:] if argv is None else argv)])
    results: dict = {"hardware": hardware(device), "commands": dict.fromkeys(args.only, command)}
    results["ceilings"] = ceilings(device, args.quick)
    print(f"{results['hardware']}\nceilings: {results['ceilings']}", flush=True)
    if "inference" in args.only:
        results["inference"] = inference(args.models, device, results["ceilings"], args.quick)
    if {"training", "knobs"} & set(args.only) and not list_images([args.data]):
        raise SystemExit(f"--data {args.data}: no images there (training needs a folder of HR images)")
    if "training" in args.only:
        results["training"] = training([m for m in args.models if m in TRAINED], args.data, device, args.quick)
    if "knobs" in args.only:
        results["knobs"] = knobs(args.data, device, args.quick)
    if "tools" in args.only:
        results["tools"] = tools(args.eval_sets, args.quick)
    output = args.output or ROOT / "benchmarks" / "results" / f"{device.type}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.exists():  # a run of some sections replaces those and keeps the others
        earlier = json.loads(output.read_text())
        results = earlier | results
        results["commands"] = earlier.get("commands", {}) | results["commands"]
        if "inference" not in args.only and "ceilings" in earlier:  # the rooflines of the inference figures
            results["ceilings"] = earlier["ceilings"]
    output.write_text(json.dumps(results, indent=1))
    print(f"written: {output}")
    return results


if __name__ == "__main__":
    main()

"""Export an `RGBUpscaler` to ONNX or TorchScript: RGB in, RGB out, any batch size, height and width.

The whole pipeline is exported, not the bare net: Y conversion, bicubic pre-upsampling and the
bicubic CbCr merge of Y nets are in the graph, so a consumer feeds (N, 3, H, W) float32 RGB in [0, 1]
and gets (N, 3, sH, sW) RGB in [0, 1] without knowing the net's contract. The calling convention, the
net's class and contract are still written into the file (ONNX metadata, a TorchScript extra file).

ONNX uses the TorchScript-based exporter (`dynamo=False`): the dynamo exporter has no ONNX function
for the matrix inverse in `ycbcr_to_rgb`. Both exports are traces, so each is checked on a second input
size against PyTorch; a net whose graph depends on the input size (e.g. one that calls `imresize`)
fails with an error instead of leaving a file that is wrong at other sizes.
"""

import json
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

from srlab.inference.upscaler import RGBUpscaler
from srlab.inference.writer import staged

TRACE_SIZE = (1, 3, 32, 32)  # the input of the trace
CHECK_SIZE = (2, 3, 19, 27)  # another size, where the export must still agree with PyTorch
TOLERANCE = 1e-4


def export_metadata(upscaler: RGBUpscaler) -> dict[str, str]:
    """The metadata written into exported files: how to call them, and what net is inside."""
    net = upscaler.net
    return {
        "srlab.input": "lr: float32 (N, 3, H, W), RGB in [0, 1]",
        "srlab.output": f"sr: float32 (N, 3, {upscaler.scale}H, {upscaler.scale}W), RGB in [0, 1]",
        "srlab.scale": str(upscaler.scale),
        "srlab.net": type(net).__name__,
        "srlab.net_contract": json.dumps(
            {"in_channels": net.in_channels, "out_channels": net.out_channels, "pre_upsampled": net.pre_upsampled}
        ),
    }


def export_onnx(upscaler: RGBUpscaler, path: Path, metadata: dict[str, str], opset: int = 17) -> None:
    """Write `upscaler` (float32, on the CPU) to `path` as ONNX with dynamic batch, height and width."""
    import onnx  # the `export` extra
    import onnxruntime

    with staged(Path(path)) as tmp, torch.no_grad():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the legacy exporter's deprecation and constant-folding notes
            torch.onnx.export(
                upscaler.eval(),
                (torch.rand(TRACE_SIZE),),
                str(tmp),
                dynamo=False,
                opset_version=opset,
                input_names=["lr"],
                output_names=["sr"],
                dynamic_axes={"lr": {0: "N", 2: "H", 3: "W"}, "sr": {0: "N", 2: "sH", 3: "sW"}},
            )
        model = onnx.load(str(tmp))
        onnx.helper.set_model_props(model, metadata)
        onnx.save(model, str(tmp))
        session = onnxruntime.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        _check(upscaler, lambda x: torch.from_numpy(session.run(None, {"lr": x.numpy()})[0]))


def export_torchscript(upscaler: RGBUpscaler, path: Path, metadata: dict[str, str]) -> None:
    """Write `upscaler` (float32, on the CPU) to `path` as a traced TorchScript module.

    The metadata is the extra file `srlab.json`: `torch.jit.load(path, _extra_files={"srlab.json": ""})`.
    """
    with staged(Path(path)) as tmp, torch.no_grad():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.jit.trace is deprecated in favour of torch.export
            traced = torch.jit.trace(upscaler.eval(), torch.rand(TRACE_SIZE))
        torch.jit.save(traced, str(tmp), _extra_files={"srlab.json": json.dumps(metadata)})
        _check(upscaler, torch.jit.load(str(tmp)))


def _check(upscaler: RGBUpscaler, exported: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Compare the exported module with PyTorch on a size other than the trace's."""
    x = torch.rand(CHECK_SIZE, generator=torch.Generator().manual_seed(0))
    expected = upscaler(x)
    try:
        got = exported(x)
    except Exception as err:  # noqa: BLE001 (onnxruntime's errors derive from Exception itself)
        # A size frozen by the trace may surface as an error of the runtime.
        reason = f"fails ({type(err).__name__}: {str(err).strip().splitlines()[0]})"
    else:
        if got.shape != expected.shape:
            reason = f"outputs {tuple(got.shape)} instead of {tuple(expected.shape)}"
        else:
            error = float((got - expected).abs().max())
            reason = f"differs from PyTorch by {error:.3g}" if error > TOLERANCE else ""
    if reason:
        raise RuntimeError(
            f"the export of {type(upscaler.net).__name__} {reason} on a {CHECK_SIZE[2]}x{CHECK_SIZE[3]} input "
            f"(traced at {TRACE_SIZE[2]}x{TRACE_SIZE[3]}): the net computes something from the input size that "
            "a trace freezes (e.g. `imresize`'s weight matrices); nothing was written"
        )

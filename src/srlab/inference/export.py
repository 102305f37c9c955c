"""Export an `RGBUpscaler` to ONNX or TorchScript: RGB in, RGB out, any batch size, height and width;
or run a net itself with ONNX Runtime on the CPU (`OnnxRuntimeNet`, `upscale.py runtime=onnxruntime`).

The whole pipeline is exported, not the bare net: Y conversion, bicubic pre-upsampling and the
bicubic CbCr merge of Y nets are in the graph, so a consumer feeds (N, 3, H, W) float32 RGB in [0, 1]
and gets (N, 3, sH, sW) RGB in [0, 1] without knowing the net's contract. The calling convention, the
net's class and contract are still written into the file (ONNX metadata, a TorchScript extra file).

ONNX uses the TorchScript-based exporter (`dynamo=False`): the dynamo exporter has no ONNX function
for the matrix inverse in `ycbcr_to_rgb`. Both exports are traces, so each is checked on a second input
size against PyTorch; a net whose graph depends on the input size (e.g. one that calls `imresize`)
fails with an error instead of leaving a file that is wrong at other sizes.
"""

import io
import json
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

from srlab.inference.upscaler import RGBUpscaler
from srlab.inference.writer import staged
from srlab.models.contract import SRNet

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

    with staged(Path(path)) as tmp:
        model = onnx.load_from_string(_onnx_bytes(upscaler, TRACE_SIZE, "lr", "sr", opset))
        onnx.helper.set_model_props(model, metadata)
        onnx.save(model, str(tmp))
        session = onnxruntime.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])

        def run(x: Tensor) -> Tensor:
            return torch.from_numpy(session.run(None, {"lr": x.numpy()})[0])

        _check(upscaler, run, type(upscaler.net).__name__, CHECK_SIZE)


class OnnxRuntimeNet(SRNet):
    """`net` run by ONNX Runtime on the CPU: the same contract and, up to float rounding, the same outputs.

    ONNX Runtime's CPU kernels beat PyTorch's for some nets (ESPCN: fewer multiplications per 3x3
    convolution; `benchmarks/run.py` measures both). The graph is exported at `net.scale`, so a
    multi-scale net runs at that scale alone; like an export, it is checked against PyTorch on a
    second input size. Inputs are float32 CPU tensors of any batch size, height and width.

    Args:
        net: a contract net in float32 on the CPU (`fast_net(net, eager=False)` for the exact
            rewrites too); it is put in eval mode.
        threads: ONNX Runtime's intra-op threads; None: one per core.
    """

    def __init__(self, net: SRNet, threads: int | None = None) -> None:
        try:
            import onnxruntime  # the `export` extra
        except ImportError as err:
            raise ImportError('running a net with ONNX Runtime needs it: pip install -e ".[export]"') from err

        # The graph holds one scale's layers, except a pre-upsampled net's, whose input has the SR size.
        run_scales = net.run_scales if net.pre_upsampled else (net.scale,)
        super().__init__(net.scale, net.in_channels, net.out_channels, run_scales=run_scales)
        self.pre_upsampled = net.pre_upsampled
        self.net_name = type(net).__name__
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or 0
        graph = _onnx_bytes(net, (1, net.in_channels, *TRACE_SIZE[2:]), "x", "y")
        self.session = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        size = (2, net.in_channels, *CHECK_SIZE[2:])
        _check(net, self.forward, self.net_name, size, "run it with runtime=torch")

    def forward(self, x: Tensor) -> Tensor:
        # (B, C, h, w) -> (B, C_out, sh, sw); a pre-upsampled net's (B, C, H, W) -> (B, C_out, H, W)
        return torch.from_numpy(self.session.run(None, {"x": x.detach().float().contiguous().numpy()})[0])


def _onnx_bytes(module: nn.Module, size: tuple[int, ...], input: str, output: str, opset: int = 17) -> bytes:
    """`module` traced at `size` as an ONNX graph with dynamic batch, height and width."""
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation and constant-folding notes
        torch.onnx.export(
            module.eval(),
            (torch.rand(size),),
            buffer,
            dynamo=False,
            opset_version=opset,
            input_names=[input],
            output_names=[output],
            dynamic_axes={input: {0: "N", 2: "H", 3: "W"}, output: {0: "N", 2: "sH", 3: "sW"}},
        )
    return buffer.getvalue()


def export_torchscript(upscaler: RGBUpscaler, path: Path, metadata: dict[str, str]) -> None:
    """Write `upscaler` (float32, on the CPU) to `path` as a traced TorchScript module.

    The metadata is the extra file `srlab.json`: `torch.jit.load(path, _extra_files={"srlab.json": ""})`.
    """
    with staged(Path(path)) as tmp, torch.no_grad():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.jit.trace is deprecated in favour of torch.export
            traced = torch.jit.trace(upscaler.eval(), torch.rand(TRACE_SIZE))
        torch.jit.save(traced, str(tmp), _extra_files={"srlab.json": json.dumps(metadata)})
        _check(upscaler, torch.jit.load(str(tmp)), type(upscaler.net).__name__, CHECK_SIZE)


def _check(
    reference: nn.Module,
    exported: Callable[[Tensor], Tensor],
    name: str,
    size: tuple[int, ...],
    fix: str = "nothing was written",
) -> None:
    """Compare the exported module with PyTorch on `size`, other than the trace's; `fix` ends the error."""
    x = torch.rand(size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = reference(x)
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
            f"the export of {name} {reason} on a {size[2]}x{size[3]} input "
            f"(traced at {TRACE_SIZE[2]}x{TRACE_SIZE[3]}): the net computes something from the input size that "
            f"a trace freezes (e.g. `imresize`'s weight matrices); {fix}"
        )

"""The exportable RGB upscaler (polyphase bicubic, the model contract in one module) and its ONNX and
TorchScript exports, checked against PyTorch at sizes other than the traced one."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from srlab.inference import RGBUpscaler, export_metadata, export_onnx, export_torchscript
from srlab.models import ESPCN, FSRCNN, IDN, SRCNN, Bicubic
from srlab.models.contract import SRNet, net_input, to_rgb
from srlab.ops import imresize
from srlab.ops.resize import resize_weights


def trained_looking(net: nn.Module, seed: int = 0) -> nn.Module:
    """`net` with weights of a trained scale (unit gain per layer), so its output is far from zero and
    comparisons at 1e-4 mean something (FSRCNN's and SRCNN's own init give outputs of ~1e-3)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("weight") and p.dim() == 4:
                fan_in = p.shape[1] * p.shape[2] * p.shape[3]
                p.copy_(torch.randn(p.shape, generator=gen) / fan_in**0.5)
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
    return net.eval()


NETS = {
    "fsrcnn_y": lambda: FSRCNN(3, d=16, s=8, m=2),
    "fsrcnn_rgb": lambda: FSRCNN(2, in_channels=3, out_channels=3, d=16, s=8, m=1),
    "espcn_y": lambda: ESPCN(4, num_features=(16, 8)),
    "srcnn_y_pre_upsampled": lambda: SRCNN(3, num_features=(16, 8), kernel_sizes=(9, 5, 5)),
    "bicubic": lambda: Bicubic(2),
    "idn_bicubic_inside": lambda: IDN(2, num_features=32, num_blocks=1),  # calls imresize in forward
}


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("size", [(17, 23), (1, 6), (40, 40)])
def test_polyphase_bicubic_equals_the_weight_matrices(scale, size):
    x = torch.rand(2, 3, *size, dtype=torch.float64)
    out = imresize(x, scale)  # an integer upscale: the polyphase convolutions
    assert out.shape == (2, 3, scale * size[0], scale * size[1])
    rows, cols = (resize_weights(n, scale * n, float(scale), True) for n in size)
    torch.testing.assert_close(out, torch.einsum("oh,pw,bchw->bcop", rows, cols, x), atol=1e-12, rtol=0)


@pytest.mark.parametrize("name", NETS)
def test_rgb_upscaler_is_the_model_contract_in_one_module(name):
    net = trained_looking(NETS[name]())
    lr = torch.rand(2, 3, 21, 30)
    with torch.no_grad():
        expected = to_rgb(net, net(net_input(net, lr)), imresize(lr, net.scale))  # step by step
        assert expected.std() > 0.05  # a real image, not a constant
        torch.testing.assert_close(RGBUpscaler(net)(lr), expected, atol=1e-5, rtol=0)


def test_autocast_covers_the_net_only():
    net = trained_looking(FSRCNN(2, d=16, s=8, m=1))
    lr = torch.rand(1, 3, 24, 24)
    with torch.no_grad():
        full, half = RGBUpscaler(net)(lr), RGBUpscaler(net, autocast=torch.bfloat16)(lr)
    assert half.dtype == torch.float32
    assert 0 < (half - full).abs().max() < 0.05  # bf16 ran, and only where it costs little


@pytest.mark.parametrize("name", ["fsrcnn_y", "srcnn_y_pre_upsampled", "fsrcnn_rgb", "bicubic", "idn_bicubic_inside"])
def test_onnx_equals_pytorch_at_two_sizes(name, tmp_path):
    import onnx
    import onnxruntime

    upscaler = RGBUpscaler(trained_looking(NETS[name]()))
    path = tmp_path / "net.onnx"
    export_onnx(upscaler, path, export_metadata(upscaler))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for shape in [(1, 3, 24, 31), (2, 3, 45, 16)]:
        lr = torch.rand(shape)
        (sr,) = session.run(None, {"lr": lr.numpy()})
        with torch.no_grad():
            expected = upscaler(lr).numpy()
        assert sr.shape == expected.shape == (shape[0], 3, upscaler.scale * shape[2], upscaler.scale * shape[3])
        np.testing.assert_allclose(sr, expected, atol=1e-4, rtol=0)
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert props["srlab.scale"] == str(upscaler.scale)
    assert json.loads(props["srlab.net_contract"])["pre_upsampled"] == upscaler.net.pre_upsampled


def test_torchscript_equals_eager_at_two_sizes(tmp_path):
    upscaler = RGBUpscaler(trained_looking(NETS["fsrcnn_y"]()))
    path = tmp_path / "net.pt"
    export_torchscript(upscaler, path, export_metadata(upscaler))
    extra = {"srlab.json": ""}
    loaded = torch.jit.load(str(path), _extra_files=extra)
    for shape in [(1, 3, 24, 31), (2, 3, 45, 16)]:
        lr = torch.rand(shape)
        with torch.no_grad():
            torch.testing.assert_close(loaded(lr), upscaler(lr), atol=1e-5, rtol=0)
    assert json.loads(extra["srlab.json"])["srlab.net"] == "FSRCNN"


class HalfThenQuadruple(SRNet):
    def __init__(self) -> None:
        super().__init__(2, 3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return imresize(imresize(x, 1 / 2), 4)


@pytest.mark.parametrize("export", [export_onnx, export_torchscript])
def test_size_dependent_net_is_refused_and_nothing_is_lost(export, tmp_path):
    """A net that downscales with `imresize`, whose weight matrices a trace freezes at the traced size."""
    path = tmp_path / "bicubic.model"
    path.write_text("an earlier export")
    upscaler = RGBUpscaler(HalfThenQuadruple())
    with pytest.raises(RuntimeError, match="HalfThenQuadruple.*imresize"):
        export(upscaler, path, export_metadata(upscaler))
    assert path.read_text() == "an earlier export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bicubic.model"]

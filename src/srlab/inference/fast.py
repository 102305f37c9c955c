"""Exact rewrites for inference: the same outputs up to float rounding, in less time on a CPU.

`fast_net(net)` returns a copy of a trained net in which
- every transposed convolution whose output is stride x its input (FSRCNN's 9x9 deconvolution) runs as
  the equivalent stride-1 convolution and pixel shuffle (`blocks.deconv_as_subpixel`): oneDNN has fast
  kernels for the convolution, not for the transposed one;
- every convolution followed by batch norm in a `Sequential` (SRResNet's blocks) is one convolution
  (`torch.nn.utils.fusion.fuse_conv_bn_eval`);
- with `eager` (PyTorch's own kernels run the net, not an exporter, ONNX Runtime or `torch.compile`):
  - weights and activations use the NHWC layout, which oneDNN runs faster for the small channel counts of
    SR nets (measured in `benchmarks/`);
  - every convolution followed by a ReLU, tanh or sigmoid in a `Sequential` (ESPCN's, VDSR's) is one
    oneDNN call on the CPU that applies the activation as it writes each output (`ConvAct`, the kernel
    `torch.compile` itself picks there): the activation no longer reads and writes the whole map again.

`upscale.py`, `eval.py` and export apply it (option `fast`, on by default).
"""

import copy

import torch
from torch import Tensor, nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from srlab.models.blocks import deconv_as_subpixel


_ACTIVATIONS = {nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid"}  # oneDNN's names


class ConvAct(nn.Module):
    """`act(conv(x))`, as one oneDNN convolution with the activation fused on a float32 CPU input.

    Elsewhere (CUDA, other dtypes, autocast) it runs the two modules as they are.

    Args:
        conv: a zero-padded convolution with numeric padding.
        act: one of the activations of `_ACTIVATIONS`.
    """

    def __init__(self, conv: nn.Conv2d, act: nn.Module) -> None:
        super().__init__()
        self.conv, self.act, self.attr = conv, act, _ACTIVATIONS[type(act)]

    @staticmethod
    def fusable(conv: nn.Module, act: nn.Module) -> bool:
        return (isinstance(conv, nn.Conv2d) and type(act) in _ACTIVATIONS and conv.padding_mode == "zeros"
                and not isinstance(conv.padding, str) and torch.backends.mkldnn.is_available())  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        c = self.conv
        if x.is_cpu and x.dtype == c.weight.dtype == torch.float32 and not torch.is_autocast_enabled("cpu"):
            return torch.ops.mkldnn._convolution_pointwise(
                x, c.weight, c.bias, c.padding, c.stride, c.dilation, c.groups, self.attr, [], "")  # fmt: skip
        return self.act(c(x))


def _to_channels_last(module: nn.Module, args: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    return (args[0].contiguous(memory_format=torch.channels_last), *args[1:])


def _to_contiguous(module: nn.Module, args: tuple[Tensor, ...], out: Tensor) -> Tensor:
    return out.contiguous()  # NCHW again, as colour conversion and the writers expect


def _rewrite(module: nn.Module, fuse_activations: bool) -> None:
    """Rewrite the children of `module` in place, recursively."""
    if isinstance(module, nn.Sequential):
        names = list(module._modules)
        for first, second in zip(names, names[1:]):
            conv, after = module._modules[first], module._modules[second]
            if isinstance(conv, nn.Conv2d) and isinstance(after, nn.BatchNorm2d) and after.track_running_stats:
                module._modules[first], module._modules[second] = fuse_conv_bn_eval(conv, after), nn.Identity()
            elif fuse_activations and ConvAct.fusable(conv, after):
                module._modules[first], module._modules[second] = ConvAct(conv, after), nn.Identity()
    for name, child in module.named_children():
        if isinstance(child, nn.ConvTranspose2d):
            try:
                setattr(module, name, deconv_as_subpixel(child))
            except ValueError:  # not output = stride x input: kept as it is
                pass
        else:
            _rewrite(child, fuse_activations)


@torch.no_grad()
def fast_net(net: nn.Module, eager: bool = True) -> nn.Module:
    """A copy of `net` in eval mode with the exact rewrites above; `net` itself is left as it is.

    The copy is still the net's class with its contract (`scale`, `run_scales`, ...). With `eager` its
    weights are NHWC, hooks turn its input to NHWC and its output back to NCHW, and convolutions carry
    their activations; give `eager=False` for a net that is exported, run in ONNX Runtime or compiled.
    """
    fast = copy.deepcopy(net).eval()
    _rewrite(fast, fuse_activations=eager)
    if eager:
        fast.to(memory_format=torch.channels_last)
        fast.register_forward_pre_hook(_to_channels_last)
        fast.register_forward_hook(_to_contiguous)
    return fast

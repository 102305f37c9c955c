"""Exact rewrites for inference: the same outputs up to float rounding, in less time on a CPU.

`fast_net(net)` returns a copy of a trained net in which
- every transposed convolution whose output is stride x its input (FSRCNN's 9x9 deconvolution) runs as
  the equivalent stride-1 convolution and pixel shuffle (`blocks.deconv_as_subpixel`): oneDNN has fast
  kernels for the convolution, not for the transposed one;
- every convolution followed by batch norm in a `Sequential` (SRResNet's blocks) is one convolution
  (`torch.nn.utils.fusion.fuse_conv_bn_eval`);
- with `channels_last`, weights and activations use the NHWC layout, which oneDNN runs faster for the
  small channel counts of SR nets (measured in `benchmarks/`).

`upscale.py`, `eval.py` and export apply it (option `fast`, on by default).
"""

import copy

import torch
from torch import Tensor, nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from srlab.models.blocks import deconv_as_subpixel


def _to_channels_last(module: nn.Module, args: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    return (args[0].contiguous(memory_format=torch.channels_last), *args[1:])


def _to_contiguous(module: nn.Module, args: tuple[Tensor, ...], out: Tensor) -> Tensor:
    return out.contiguous()  # NCHW again, as colour conversion and the writers expect


def _rewrite(module: nn.Module) -> None:
    """Rewrite the children of `module` in place, recursively."""
    if isinstance(module, nn.Sequential):
        names = list(module._modules)
        for first, second in zip(names, names[1:]):
            conv, norm = module._modules[first], module._modules[second]
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d) and norm.track_running_stats:
                module._modules[first], module._modules[second] = fuse_conv_bn_eval(conv, norm), nn.Identity()
    for name, child in module.named_children():
        if isinstance(child, nn.ConvTranspose2d):
            try:
                setattr(module, name, deconv_as_subpixel(child))
            except ValueError:  # not output = stride x input: kept as it is
                pass
        else:
            _rewrite(child)


@torch.no_grad()
def fast_net(net: nn.Module, channels_last: bool = True) -> nn.Module:
    """A copy of `net` in eval mode with the exact rewrites above; `net` itself is left as it is.

    The copy is still the net's class with its contract (`scale`, `run_scales`, ...); with `channels_last`
    its weights are NHWC, and hooks turn its input to NHWC and its output back to NCHW.
    """
    fast = copy.deepcopy(net).eval()
    _rewrite(fast)
    if channels_last:
        fast.to(memory_format=torch.channels_last)
        fast.register_forward_pre_hook(_to_channels_last)
        fast.register_forward_hook(_to_contiguous)
    return fast

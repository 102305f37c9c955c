"""Super-resolution networks: pure `nn.Module`s, one paper per file.

Every model is an `SRNet` (`srlab.models.contract`) and states what it consumes, so systems and data
code never special-case a name:
- `in_channels` / `out_channels`: 1 (the Y channel) or 3 (RGB);
- `pre_upsampled`: True when the input is the LR image already bicubic-upscaled to HR size;
- `build_scales`, the scales the class can be built at, and `run_scales`, the scales a built net can
  switch to by setting `scale` (empty: any integer); `check_scale` is the one check of a scale asked for;
- multi-output nets (LapSRN, DRCN, CMSC) return `[intermediate..., final]` in training mode, for
  `srlab.losses.MultiOutputLoss`, and the final image in eval mode.
See `srlab.models.contract` for how they are fed, and `srlab models` for the list.
"""

from srlab.models.bicubic import Bicubic
from srlab.models.btsrn import BTSRN
from srlab.models.carn import CARN, CARNM
from srlab.models.cmsc import CMSC
from srlab.models.drcn import DRCN
from srlab.models.drrn import DRRN
from srlab.models.edsr import EDSR, MDSR
from srlab.models.enhancenet import EnhanceNet
from srlab.models.espcn import ESPCN
from srlab.models.esrgan_discriminator import VGGDiscriminator
from srlab.models.fsrcnn import FSRCNN
from srlab.models.idn import IDN
from srlab.models.johnson import JohnsonSR
from srlab.models.lapsrn import LapSRN, MSLapSRN
from srlab.models.rcan import RCAN
from srlab.models.rrdbnet import RRDBNet
from srlab.models.selnet import SelNet
from srlab.models.srcnn import SRCNN
from srlab.models.srgan_discriminator import SRGANDiscriminator
from srlab.models.srresnet import SRResNet
from srlab.models.unet_discriminator import UNetDiscriminatorSN
from srlab.models.vdsr import VDSR

__all__ = [
    "BTSRN",
    "CARN",
    "CARNM",
    "CMSC",
    "DRCN",
    "DRRN",
    "EDSR",
    "ESPCN",
    "FSRCNN",
    "IDN",
    "MDSR",
    "RCAN",
    "SRCNN",
    "VDSR",
    "Bicubic",
    "EnhanceNet",
    "JohnsonSR",
    "LapSRN",
    "MSLapSRN",
    "RRDBNet",
    "SRGANDiscriminator",
    "SRResNet",
    "SelNet",
    "UNetDiscriminatorSN",
    "VGGDiscriminator",
]

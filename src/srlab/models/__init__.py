"""Super-resolution networks: pure `nn.Module`s, one paper per file.

Every model states what it consumes (see `SRModel`), so systems and data code never special-case
a name:
- `in_channels` / `out_channels`: 1 (the Y channel) or 3 (RGB);
- `pre_upsampled`: True when the input is the LR image already bicubic-upscaled to HR size;
- `scale` and the class attribute `scales`, the scales it supports (empty: any integer).
"""

from srlab.models.bicubic import Bicubic
from srlab.models.espcn import ESPCN
from srlab.models.fsrcnn import FSRCNN
from srlab.models.srcnn import SRCNN

__all__ = ["Bicubic", "ESPCN", "FSRCNN", "SRCNN"]

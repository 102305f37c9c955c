"""Adversarial losses on discriminator logits, for the generator and the discriminator sides."""

from torch import Tensor, nn
from torch.nn import functional as F

KINDS = ("vanilla", "lsgan", "hinge", "ragan")


class AdversarialLoss(nn.Module):
    """GAN objectives on raw logits (any shape: (B, 1) per image or (B, 1, H, W) per pixel; means over all).

    kind:
        vanilla: binary cross-entropy (Goodfellow et al.; SRGAN). G: -log sigmoid(f), the non-saturating form.
        lsgan: least squares (Mao et al.) with targets 1 (real) and 0 (fake). G: (f - 1)^2.
        hinge: D: relu(1 - r) + relu(1 + f) (Miyato et al., SAGAN). G: -f.
        ragan: relativistic average (Jolicoeur-Martineau; ESRGAN). With r~ = r - mean(f) and f~ = f - mean(r),
            D: [BCE(r~, 1) + BCE(f~, 0)] / 2 and G: [BCE(r~, 0) + BCE(f~, 1)] / 2, the averages ESRGAN's code
            uses (its weight 5e-3 is for them).

    `generator(real_logits, fake_logits)`: the generator's loss; `fake_logits` = D(SR) with gradients to G,
    `real_logits` = D(HR), used only by ragan (pass it detached). `discriminator(real_logits, fake_logits)`:
    D's loss on D(HR) and D(SR.detach()); the non-relativistic kinds sum the real and fake terms.
    """

    def __init__(self, kind: str = "vanilla") -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"adversarial kind {kind!r} is not one of {', '.join(KINDS)}")
        self.kind = kind

    def generator(self, real_logits: Tensor | None, fake_logits: Tensor) -> Tensor:
        f = fake_logits.float()
        if self.kind == "vanilla":
            return _bce(f, True)
        if self.kind == "lsgan":
            return (f - 1).pow(2).mean()
        if self.kind == "hinge":
            return -f.mean()
        if real_logits is None:
            raise ValueError("the ragan generator loss needs the discriminator's logits on real images")
        r = real_logits.float()
        return (_bce(r - f.mean(), False) + _bce(f - r.mean(), True)) / 2

    def discriminator(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        r, f = real_logits.float(), fake_logits.float()
        if self.kind == "vanilla":
            return _bce(r, True) + _bce(f, False)
        if self.kind == "lsgan":
            return (r - 1).pow(2).mean() + f.pow(2).mean()
        if self.kind == "hinge":
            return F.relu(1 - r).mean() + F.relu(1 + f).mean()
        return (_bce(r - f.mean(), True) + _bce(f - r.mean(), False)) / 2


def _bce(logits: Tensor, real: bool) -> Tensor:
    """Binary cross-entropy with a constant target: softplus(-x) for 1, softplus(x) for 0 (stable for any x)."""
    return F.softplus(-logits if real else logits).mean()

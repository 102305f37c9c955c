"""`WeightedSum`: a loss made of named, weighted terms, each logged on its own."""

from collections.abc import Mapping

from torch import Tensor, nn


class WeightedSum(nn.Module):
    """sum over names of weights[name] * terms[name](sr, hr).

    After each call `.last` holds {name: weighted value, detached}, for logging each term apart.
    Composed in YAML (see conf/loss/esrgan.yaml):

        _target_: srlab.losses.WeightedSum
        terms: {pixel: {_target_: torch.nn.L1Loss}, vgg: {_target_: srlab.losses.PerceptualLoss, ...}}
        weights: {pixel: 1.0e-2, vgg: 1.0}
    """

    def __init__(self, terms: Mapping[str, nn.Module], weights: Mapping[str, float]) -> None:
        super().__init__()
        if set(terms) != set(weights) or not terms:
            raise ValueError(f"WeightedSum needs one weight per term: terms {sorted(terms)}, weights {sorted(weights)}")
        self.terms = nn.ModuleDict({str(name): term for name, term in terms.items()})
        self.weights = {str(name): float(weight) for name, weight in weights.items()}
        self.last: dict[str, Tensor] = {}

    def forward(self, sr: Tensor, hr: Tensor) -> Tensor:
        values = {name: self.weights[name] * term(sr, hr) for name, term in self.terms.items()}
        self.last = {name: value.detach() for name, value in values.items()}
        return sum(values.values())

"""Post-hoc OOD detectors: pure score functions, each with its hyperparameter space, in the DETECTORS registry.

Conventions (the whole lab follows them):
- A score is HIGHER for MORE in-distribution inputs; metrics take ID as the positive class.
- `inputs` are what the classifier eats: normalised float NCHW, x_norm = (x - mean) / std
  with x in [0, 1] pixel units.
- ODIN's epsilon has two scales (EPS_SCALES), and every table says which one it uses:
  "seed" (the default, the seed's code): epsilon is added to the NORMALISED input,
  x' = x_norm - epsilon * sign(grad); "paper" (the ODIN paper's code): epsilon is in [0, 1]
  PIXEL units, so the step on channel c of the normalised input is epsilon / std[c].
  With CIFAR's std ~0.25 the seed's 0.004 is the paper's ~0.001.
- The perturbation moves AGAINST the gradient of the cross-entropy at the predicted label,
  which raises the softmax score; the seed and the ODIN paper do the same. sign(0) = 0: a
  pixel with no gradient stays put.

A detector's `space` is its search space as data (as pytorch-ood's detectors carry theirs):
the protocol searches it on the validation half, so a detector added to DETECTORS appears
in the grid, the comparison table and the CLI without another edit. No torch at import:
the tab lists the detectors when the page is built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from labs.core.errors import LabsError
from labs.core.params import Interval, Options, check_value

if TYPE_CHECKING:
    import torch
    from torch import nn

TEMPERATURE = Interval(float, 1e-3, 1e4)       # T: 1 = plain softmax; the ODIN paper goes up to 1000
EPSILON = Interval(float, 0, 1)                # on either scale; ODIN's useful range is 0-0.004 (paper), 0-0.016 (seed)
SEED_TEMPERATURES = (1.0, 10.0, 100.0)         # the seed's grid: T
SEED_EPSILONS = (0.0, 0.001, 0.002, 0.004)     # the seed's grid: epsilon, on the seed's scale
EPS_SCALES = {  # ODIN's epsilon scale -> what it means (labels in tables, the CLI and the page)
    "seed": "the seed's scale: added to the normalised input",
    "paper": "the ODIN paper's scale: pixel units in [0, 1], divided by the per-channel std",
}
EPS_SCALE_TAGS = {"seed": "seed's ε scale", "paper": "paper's ε scale (pixel units)"}
EPS_SCALE = Options(*EPS_SCALES)


@contextmanager
def eval_mode(model: nn.Module):
    """BatchNorm must use its running statistics: a detector never sees a batch's own stats."""
    was = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was)


# ------------------------------------------------------------- scores from logits (N, K) -> (N,)

def msp_from_logits(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Maximum softmax probability of logits / T (T = 1: the max-softmax baseline)."""
    import torch

    return torch.softmax(logits.float() / temperature, dim=1).max(dim=1).values


def energy_from_logits(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Negative free energy T * logsumexp(logits / T) (Liu et al. 2020); higher = more ID."""
    import torch

    return temperature * torch.logsumexp(logits.float() / temperature, dim=1)


def max_logit_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """The largest raw logit (Hendrycks et al. 2022)."""
    return logits.float().max(dim=1).values


# ------------------------------------------------------------- ODIN

def _step_scale(inputs: torch.Tensor, std: Sequence[float] | None) -> torch.Tensor | float:
    import torch

    if std is None:
        return 1.0
    s = torch.as_tensor(std, dtype=inputs.dtype, device=inputs.device)
    if s.numel() != inputs.shape[1]:
        raise LabsError(f"std has {s.numel()} channels but the inputs have {inputs.shape[1]}")
    return (1.0 / s).view(1, -1, *([1] * (inputs.ndim - 2)))


def gradient_sign(model: nn.Module, inputs: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """sign(d CE(model(x) / T, argmax) / dx), int8 with the inputs' shape.

    It depends on T but not on epsilon: the experiment caches it per T, so another
    epsilon at the same T costs one forward pass instead of three.
    """
    import torch
    from torch import nn

    # Detached weights: autograd then skips every weight gradient (about half the backward
    # pass) without touching the caller's requires_grad flags or .grad fields.
    frozen = {name: p.detach() for name, p in model.named_parameters()}
    with eval_mode(model), torch.enable_grad():
        x = inputs.detach().float().requires_grad_(True)
        logits = torch.func.functional_call(model, frozen, (x,)).float() / temperature
        loss = nn.functional.cross_entropy(logits, logits.argmax(dim=1), reduction="sum")
        (grad,) = torch.autograd.grad(loss, x)
    return torch.sign(grad).to(torch.int8)


def perturbed_msp(model: nn.Module, inputs: torch.Tensor, sign: torch.Tensor, temperature: float, epsilon: float,
                  std: Sequence[float] | None = None) -> torch.Tensor:
    """Max softmax at T of x - epsilon * sign / std (one forward pass)."""
    import torch

    with eval_mode(model), torch.no_grad():
        x = inputs.float() - epsilon * sign.to(inputs.device, torch.float32) * _step_scale(inputs, std)
        return msp_from_logits(model(x), temperature)


def odin_score(model: nn.Module, inputs: torch.Tensor, temperature: float = 1.0, epsilon: float = 0.0,
               std: Sequence[float] | None = None, eps_scale: str = "seed") -> torch.Tensor:
    """ODIN confidence (Liang et al. 2018), one per input: max softmax at temperature T of
    the input moved epsilon against the gradient of the cross-entropy at the predicted label.
    eps_scale "seed" (default, as the seed calls it): epsilon is added to the normalised `inputs`;
    "paper": epsilon is in pixel units and `std` (the per-channel std that normalised `inputs`)
    turns it into a step of epsilon / std. epsilon = 0 is temperature-scaled max softmax."""
    import torch

    temperature = check_value("temperature", TEMPERATURE, temperature)
    epsilon = check_value("epsilon", EPSILON, epsilon)
    scale = check_value("eps_scale", EPS_SCALE, eps_scale)
    if scale == "paper" and std is None:
        raise LabsError("epsilon on the paper's scale (pixel units) needs the std that normalised the inputs")

    if epsilon == 0:
        with eval_mode(model), torch.no_grad():
            return msp_from_logits(model(inputs.float()), temperature)
    sign = gradient_sign(model, inputs, temperature)
    return perturbed_msp(model, inputs, sign, temperature, epsilon, std if scale == "paper" else None)


# ------------------------------------------------------------- autoencoder

def reconstruction_score(autoencoder: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """-(mean squared error per value) of each normalised input: (N, C, H, W) -> (N,).

    The inputs are normalised with the statistics the autoencoder was trained with (its
    checkpoint's "normalization"), so the error is in the space it learned to reconstruct."""
    import torch

    with eval_mode(autoencoder), torch.no_grad():
        x = inputs.float()
        return -(autoencoder(x).float() - x).pow(2).flatten(1).mean(1)


# ------------------------------------------------------------- registry

@dataclass(frozen=True)
class Detector:
    """`score(net, inputs, std=None, **hyperparameters) -> (N,)` scores, higher = more ID; `net` is
    the classifier, or the autoencoder when `network == "autoencoder"`; `std` is the inputs'
    normalisation (for detectors that step in pixel units). `from_logits(logits, **hyperparameters)`
    is set for detectors that need nothing but the clean logits (cached: no forward pass)."""

    title: str
    network: str                                            # "classifier" | "autoencoder"
    score: Callable[..., torch.Tensor]
    space: dict[str, tuple[float, ...]] = field(default_factory=dict)  # hyperparameter -> values to search
    from_logits: Callable[..., torch.Tensor] | None = None
    passes: str = "1 forward"                               # work per image; the measured cost is in the table


def _logit_detector(fn):
    def score(model, inputs, std=None, **hyperparameters):
        import torch

        with eval_mode(model), torch.no_grad():
            return fn(model(inputs.float()), **hyperparameters)
    return score


def _reconstruction(autoencoder, inputs, std=None):
    return reconstruction_score(autoencoder, inputs)


DETECTORS: dict[str, Detector] = {
    "odin": Detector("ODIN", "classifier", odin_score,
                     {"temperature": SEED_TEMPERATURES, "epsilon": SEED_EPSILONS, "eps_scale": ("seed",)},
                     passes="forward + backward + forward"),
    "msp": Detector("Max softmax", "classifier", _logit_detector(msp_from_logits), from_logits=msp_from_logits),
    "energy": Detector("Energy score", "classifier", _logit_detector(energy_from_logits),
                       {"temperature": SEED_TEMPERATURES}, from_logits=energy_from_logits),
    "max_logit": Detector("Max logit", "classifier", _logit_detector(max_logit_from_logits),
                          from_logits=max_logit_from_logits),
    "autoencoder": Detector("Autoencoder", "autoencoder", _reconstruction, passes="1 autoencoder forward"),
}

LIVE_DETECTOR, BASELINE = "odin", "msp"  # the live view: ODIN at the sliders' (T, eps) against max softmax
# Also drawn in the live view on request: the other detectors that need only the clean logits.
LIVE_EXTRAS = tuple(k for k, d in DETECTORS.items() if d.from_logits is not None and k not in (LIVE_DETECTOR, BASELINE))

SYMBOLS = {"temperature": ("T", "T"), "epsilon": ("ε", "eps")}  # hyperparameter -> (page, terminal) symbol


def defaults(name: str) -> dict[str, float]:
    """A detector's default setting: the first value of each hyperparameter in its space."""
    return {h: values[0] for h, values in DETECTORS[name].space.items()}


def setting_text(params: dict, unicode: bool = True) -> str:
    """{'temperature': 10, 'epsilon': 0.002, 'eps_scale': 'seed'} -> "T=10, ε=0.002, seed's ε scale"; {} -> '-'.
    The scale is said only where epsilon moved the input (at ε = 0 both scales are the same detector)."""
    text = ", ".join(f"{SYMBOLS.get(h, (h, h))[0 if unicode else 1]}={v:g}" for h, v in params.items()
                     if h != "eps_scale") or "-"
    if params.get("eps_scale") and params.get("epsilon"):
        tag = EPS_SCALE_TAGS[params["eps_scale"]]
        text += f", {tag if unicode else tag.replace('ε', 'eps')}"
    return text

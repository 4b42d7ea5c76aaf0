"""Post-hoc OOD detectors as pure score functions, and the DETECTORS registry.

Conventions (the whole lab follows them):
- A score is HIGHER for MORE in-distribution inputs; metrics take ID as the positive class.
- `inputs` are what the classifier eats: normalised float NCHW, x_norm = (x - mean) / std
  with x in [0, 1] pixel units.
- ODIN's epsilon is in [0, 1] PIXEL units. In normalised space one pixel-unit step is
  1/std, so the step applied to channel c is epsilon / std[c]. `std=None` means the
  inputs are raw pixels (no normalisation) and the step is epsilon itself.
- The perturbation moves AGAINST the gradient of the cross-entropy at the predicted label
  (x' = x - epsilon * sign(grad) / std), which raises the softmax score; the seed and the
  ODIN paper do the same. sign(0) = 0: a pixel with no gradient stays put.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from labs.core.errors import LabsError

MAX_TEMPERATURE = 1e4
MAX_EPSILON = 0.1  # pixel units; ODIN's useful range is 0-0.004, beyond 0.1 the image is visibly rewritten


def check_params(temperature: float, epsilon: float) -> None:
    """LabsError unless 0 < T <= 1e4 and 0 <= epsilon <= 0.1 (pixel units)."""
    t_ok = isinstance(temperature, (int, float)) and math.isfinite(temperature)
    if not (t_ok and 0 < temperature <= MAX_TEMPERATURE):
        raise LabsError(f"temperature T must be a number in (0, {MAX_TEMPERATURE:g}], got {temperature!r}")
    if not (isinstance(epsilon, (int, float)) and math.isfinite(epsilon) and 0 <= epsilon <= MAX_EPSILON):
        raise LabsError(f"epsilon must be in [0, {MAX_EPSILON}] (pixel units, ODIN uses 0-0.004), got {epsilon!r}")


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
    return torch.softmax(logits.float() / temperature, dim=1).max(dim=1).values


def energy_from_logits(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Negative free energy T * logsumexp(logits / T) (Liu et al. 2020); higher = more ID."""
    return temperature * torch.logsumexp(logits.float() / temperature, dim=1)


def max_logit_from_logits(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """The largest raw logit (Hendrycks et al. 2022); T has no effect on the ranking."""
    return logits.float().max(dim=1).values


# ------------------------------------------------------------- ODIN

def _step_scale(inputs: torch.Tensor, std: Sequence[float] | None) -> torch.Tensor | float:
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
    # Detached weights: autograd then skips every weight gradient (about half the backward
    # pass) without touching the caller's requires_grad flags or .grad fields.
    frozen = {name: p.detach() for name, p in model.named_parameters()}
    with eval_mode(model), torch.enable_grad():
        x = inputs.detach().float().requires_grad_(True)
        logits = torch.func.functional_call(model, frozen, (x,)).float() / temperature
        loss = nn.functional.cross_entropy(logits, logits.argmax(dim=1), reduction="sum")
        (grad,) = torch.autograd.grad(loss, x)
    return torch.sign(grad).to(torch.int8)


@torch.no_grad()
def perturbed_msp(model: nn.Module, inputs: torch.Tensor, sign: torch.Tensor, temperature: float, epsilon: float,
                  std: Sequence[float] | None = None) -> torch.Tensor:
    """Max softmax at T of x - epsilon * sign / std (one forward pass)."""
    with eval_mode(model):
        x = inputs.float() - epsilon * sign.to(inputs.device, torch.float32) * _step_scale(inputs, std)
        return msp_from_logits(model(x), temperature)


def odin_score(model: nn.Module, inputs: torch.Tensor, temperature: float = 1.0, epsilon: float = 0.0,
               std: Sequence[float] | None = None) -> torch.Tensor:
    """ODIN confidence (Liang et al. 2018), one per input: max softmax at temperature T of
    the input moved epsilon (pixel units) against the gradient of the cross-entropy at the
    predicted label. `std`: the per-channel std used to normalise `inputs` (None = raw pixels).
    epsilon = 0 is temperature-scaled max softmax with no backward pass."""
    check_params(temperature, epsilon)
    if epsilon == 0:
        with eval_mode(model), torch.no_grad():
            return msp_from_logits(model(inputs.float()), temperature)
    sign = gradient_sign(model, inputs, temperature)
    return perturbed_msp(model, inputs, sign, temperature, epsilon, std)


# ------------------------------------------------------------- registry

@dataclass(frozen=True)
class Detector:
    """`score(net, inputs, **params) -> (N,)` scores; `net` is the classifier, or the
    autoencoder when `network == "autoencoder"`. `from_logits(logits, temperature)` is set
    for detectors that need nothing but the clean logits (cached: no forward pass)."""

    title: str
    network: str                                   # "classifier" | "autoencoder"
    score: Callable[..., torch.Tensor]
    from_logits: Callable[..., torch.Tensor] | None
    params: tuple[str, ...]                        # keyword parameters `score` uses
    passes: str                                    # work per image, for the cost column
    reference: str


def _logit_detector(fn):
    def score(model, inputs, temperature: float = 1.0, **_):
        with eval_mode(model), torch.no_grad():
            return fn(model(inputs.float()), temperature)
    return score


def _reconstruction(autoencoder, inputs, **_):
    from labs.ood.autoencoder import reconstruction_score
    return reconstruction_score(autoencoder, inputs)


DETECTORS: dict[str, Detector] = {
    "odin": Detector("ODIN", "classifier", odin_score, None, ("temperature", "epsilon", "std"),
                     "forward + backward + forward", "Liang et al., ICLR 2018"),
    "msp": Detector("Max softmax", "classifier", _logit_detector(msp_from_logits), msp_from_logits, (),
                    "1 forward", "Hendrycks & Gimpel, ICLR 2017"),
    "energy": Detector("Energy score", "classifier", _logit_detector(energy_from_logits), energy_from_logits,
                       ("temperature",), "1 forward", "Liu et al., NeurIPS 2020"),
    "max_logit": Detector("Max logit", "classifier", _logit_detector(max_logit_from_logits), max_logit_from_logits,
                          (), "1 forward", "Hendrycks et al., ICML 2022"),
    "autoencoder": Detector("Autoencoder reconstruction", "autoencoder", _reconstruction, None, (),
                            "1 autoencoder forward", "negative mean squared reconstruction error"),
}


def get_detector(name: str) -> Detector:
    if name not in DETECTORS:
        raise LabsError(f"unknown detector {name!r}; choose one of: {', '.join(DETECTORS)}")
    return DETECTORS[name]

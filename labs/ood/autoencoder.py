"""A small convolutional autoencoder and its reconstruction-error OOD score.

Score convention: -(mean squared reconstruction error per pixel value) in the
classifier's normalised input space, so HIGHER = MORE in-distribution, like every
detector. Checkpoints use the project's format (NAME.safetensors weights + NAME.json
metadata) with "model": "conv_autoencoder"; labs.core.checkpoints only rebuilds
classifiers, so this module saves and loads its own (and list_checkpoints skips it).
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

import labs
from labs.core.checkpoints import CHECKPOINT_DIR, checkpoint_paths
from labs.core.data import Dataset, to_model_input
from labs.core.errors import LabsError

MODEL_NAME = "conv_autoencoder"
DEFAULT_PATH = CHECKPOINT_DIR / "autoencoder_cifar10.safetensors"


class ConvAutoencoder(nn.Module):
    """32x32x3 -> (widths[-1] x 8 x 8) -> 32x32x3 with two stride-2 convs each way.

    The 1x1 bottleneck to `code` channels makes it compress (code*H*W/16 numbers per
    image), so it cannot learn the identity and natural images reconstruct better than noise.
    """

    def __init__(self, in_channels: int = 3, widths=(32, 64), code: int = 12):
        super().__init__()
        w1, w2 = (int(w) for w in widths)
        self.encoder = nn.Sequential(
            nn.Conv2d(in_channels, w1, 3, 2, 1), nn.ReLU(inplace=True),
            nn.Conv2d(w1, w2, 3, 2, 1), nn.ReLU(inplace=True),
            nn.Conv2d(w2, code, 1))
        self.decoder = nn.Sequential(
            nn.Conv2d(code, w2, 1), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(w2, w1, 4, 2, 1), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(w1, in_channels, 4, 2, 1))

    def forward(self, x):
        return self.decoder(self.encoder(x))


@torch.no_grad()
def reconstruction_score(autoencoder: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """-(mean squared error per value) of each normalised input: (N, C, H, W) -> (N,)."""
    was = autoencoder.training
    autoencoder.eval()
    x = inputs.float()
    err = (autoencoder(x) - x).pow(2).flatten(1).mean(1)
    autoencoder.train(was)
    return -err


@dataclass
class AutoencoderConfig:
    epochs: int = 3              # passes over the train images
    train_images: int = 20000    # CIFAR-10 train images used (seeded subset); 0 = all 50,000
    batch_size: int = 128
    lr: float = 2e-3             # Adam, cosine-decayed to 0
    seed: int = 0
    log_every: int = 20          # steps between "step" records


def train_autoencoder(model: ConvAutoencoder, data: Dataset, config: AutoencoderConfig | None = None,
                      stop: threading.Event | None = None):
    """Generator of {"kind": "step"|"end", ...} dicts (like engine.fit) training on data.x_train."""
    config = config or AutoencoderConfig()
    if config.train_images:
        data = data.subset(config.train_images, None, seed=config.seed)
    n = len(data.x_train)
    if n < config.batch_size:
        raise LabsError(f"the autoencoder needs at least {config.batch_size} train images, got {n}")
    torch.manual_seed(config.seed)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    steps = config.epochs * (n // config.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(steps, 1))
    gen = torch.Generator().manual_seed(config.seed)
    model.train()
    t0, step, window = time.perf_counter(), 0, []
    for _ in range(config.epochs):
        perm = torch.randperm(n, generator=gen)
        for i in range(n // config.batch_size):
            if stop is not None and stop.is_set():
                break
            x = to_model_input(data.x_train[perm[i * config.batch_size:(i + 1) * config.batch_size]],
                               data.mean, data.std)
            loss = (model(x) - x).pow(2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            window.append(float(loss.detach()))
            if step == 1 or step % config.log_every == 0 or step == steps:
                yield {"kind": "step", "step": step, "total_steps": steps, "train_mse": sum(window) / len(window),
                       "seconds": round(time.perf_counter() - t0, 3)}
                window = []
    model.eval()
    test = to_model_input(data.x_test[:1000], data.mean, data.std)
    yield {"kind": "end", "steps": step, "stopped": bool(stop is not None and stop.is_set()),
           "seconds": round(time.perf_counter() - t0, 3), "test_mse": float(-reconstruction_score(model, test).mean()),
           "config": asdict(config)}


def save_autoencoder(path: str | Path, model: ConvAutoencoder, model_args: dict, **meta) -> Path:
    """NAME.safetensors + NAME.json, written atomically (the checkpoints module's format)."""
    from safetensors.torch import save_file

    weights, info = checkpoint_paths(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    record = {"model": MODEL_NAME, "model_args": model_args, "code_version": labs.__version__,
              "num_parameters": sum(p.numel() for p in model.parameters()), **meta}
    tmp_w, tmp_j = weights.with_suffix(".safetensors.tmp"), info.with_suffix(".json.tmp")
    save_file(state, str(tmp_w), metadata={"model": MODEL_NAME})
    tmp_j.write_text(json.dumps(record, indent=1))
    os.chmod(tmp_w, 0o644)  # safetensors creates 0600 files; a checkpoint is meant to be shared
    os.replace(tmp_w, weights)
    os.replace(tmp_j, info)
    return weights


def load_autoencoder(path: str | Path = DEFAULT_PATH) -> tuple[ConvAutoencoder, dict]:
    """Rebuild from NAME.json, load NAME.safetensors; any mismatch is a LabsError."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights, info = checkpoint_paths(path)
    fix = "train it with `python -m labs odin --train-autoencoder` or from the ODIN tab"
    if not weights.exists() or not info.exists():
        raise LabsError(f"autoencoder checkpoint {weights} (+ .json) is missing; {fix}")
    try:
        meta = json.loads(info.read_text())
        if meta.get("model") != MODEL_NAME:
            raise ValueError(f"'model' is {meta.get('model')!r}, not {MODEL_NAME!r}")
        model = ConvAutoencoder(**meta["model_args"])
        model.load_state_dict(load_file(str(weights)))
    except (SafetensorError, OSError, ValueError, KeyError, TypeError, RuntimeError) as err:
        raise LabsError(f"autoencoder checkpoint {weights.name} cannot be loaded ({type(err).__name__}: "
                        f"{str(err).splitlines()[0][:200]}); {fix}") from None
    model.normalization = meta.get("normalization")  # the (mean, std) it was trained with: its inputs use them
    return model.eval(), meta

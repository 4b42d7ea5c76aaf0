"""The lab's four networks and the MODELS registry.

Plain and residual variants share every layer and differ in one line,
`out = out + self.shortcut(x)`: the comparison isolates the skip connection.
All models take normalised float NCHW input and return logits.
"""

from __future__ import annotations

import torch
from torch import nn

from labs.core.errors import LabsError

MAX_DEPTH = 100  # per stage / per MLP: deeper is a typo, not an experiment a CPU can run


class MLPBlock(nn.Module):
    """Linear + ReLU with no normalisation, so depth alone decides whether the signal survives."""

    def __init__(self, width: int, residual: bool):
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.residual = residual

    def forward(self, x):
        out = torch.relu(self.fc(x))
        return x + out if self.residual else out


class MLP(nn.Module):
    """`depth` linear layers in all: input projection, depth-2 hidden blocks, linear head."""

    residual = False

    def __init__(self, depth: int = 16, width: int = 128, num_classes: int = 10, in_channels: int = 1,
                 image_size: int = 28):
        super().__init__()
        _check_int("depth", depth, 3, MAX_DEPTH)
        _check_int("width", width, 1, 4096)
        self.inp = nn.Linear(in_channels * image_size * image_size, width)
        self.blocks = nn.Sequential(*[MLPBlock(width, self.residual) for _ in range(depth - 2)])
        self.head = nn.Linear(width, num_classes)

    def features(self, x):
        return self.blocks(torch.relu(self.inp(x.flatten(1))))

    def forward(self, x):
        return self.head(self.features(x))


class ResidualMLP(MLP):
    """MLP with x + block(x) in every hidden block."""

    residual = True


class BasicBlock(nn.Module):
    """Two 3x3 conv+BN; the residual variant adds the shortcut before the last ReLU."""

    def __init__(self, cin: int, cout: int, stride: int, residual: bool, project: bool):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.residual = residual
        # 1x1 conv+BN projection on the first block of every stage (also where shapes match:
        # that is what gives the seed's 162,644 parameters); identity elsewhere.
        if residual and project:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.residual:
            out = out + self.shortcut(x)
        return torch.relu(out)


class ResNet(nn.Module):
    """3x3 stem (conv+BN+ReLU) -> stages of basic blocks (stride 2 between stages) -> GAP -> linear head.

    ResNet(depth=(7, 7), widths=(16, 32), num_classes=100) has 162,644 parameters.
    Module names used by freeze strategies: `stem`, `stages.0`, `stages.1`, `head`.
    """

    residual = True

    def __init__(self, depth=(7, 7), widths=(16, 32), num_classes: int = 10, in_channels: int = 3,
                 image_size: int = 32):
        super().__init__()
        depth, widths = tuple(int(d) for d in depth), tuple(int(w) for w in widths)
        if not depth or len(depth) != len(widths):
            raise LabsError(f"depth {list(depth)} and widths {list(widths)} need one entry per stage")
        for d in depth:
            _check_int("blocks per stage", d, 1, MAX_DEPTH)
        for w in widths:
            _check_int("width", w, 1, 1024)
        self.depth, self.widths = depth, widths
        self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        stages, cin = [], widths[0]
        for i, (d, w) in enumerate(zip(depth, widths)):
            blocks = [BasicBlock(cin if b == 0 else w, w, 2 if (i > 0 and b == 0) else 1, self.residual, b == 0)
                      for b in range(d)]
            stages.append(nn.Sequential(*blocks))
            cin = w
        self.stages = nn.Sequential(*stages)
        self.head = nn.Linear(widths[-1], num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def features(self, x):
        """Globally average-pooled features, (N, widths[-1])."""
        return self.stages(self.stem(x)).mean(dim=(2, 3))

    def forward(self, x):
        return self.head(self.features(x))

    def replace_head(self, num_classes: int) -> None:
        self.head = nn.Linear(self.widths[-1], num_classes).to(self.head.weight.device)


class PlainCNN(ResNet):
    """ResNet without the skip connections (and so without projection shortcuts)."""

    residual = False


class ConvAutoencoder(nn.Module):
    """32x32x3 -> (code x 8 x 8) -> 32x32x3 with two stride-2 convs each way; trained with
    TrainConfig(objective="reconstruction") on normalised inputs.

    The 1x1 bottleneck to `code` channels makes it compress (code*H*W/16 numbers per
    image), so it cannot learn the identity and natural images reconstruct better than noise.
    """

    objective = "reconstruction"

    def __init__(self, in_channels: int = 3, widths=(32, 64), code: int = 12):
        super().__init__()
        w1, w2 = (int(w) for w in widths)
        _check_int("in_channels", int(in_channels), 1, 16)
        _check_int("code", int(code), 1, 1024)
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


# name -> class; the arguments each takes are its __init__'s.
MODELS: dict[str, type[nn.Module]] = {
    "mlp": MLP,
    "residual_mlp": ResidualMLP,
    "plain_cnn": PlainCNN,
    "resnet": ResNet,
    "conv_autoencoder": ConvAutoencoder,
}

MODEL_TITLES = {"mlp": "MLP", "residual_mlp": "ResidualMLP", "plain_cnn": "PlainCNN", "resnet": "ResNet",
                "conv_autoencoder": "Autoencoder"}


CLASSIFIERS = tuple(name for name, cls in MODELS.items()
                    if getattr(cls, "objective", "classification") == "classification")


def objective_of(model_name: str) -> str:
    """"classification" for the classifiers, "reconstruction" for the autoencoder (engine.TrainConfig.objective)."""
    return getattr(MODELS[model_name], "objective", "classification")


def build_model(name: str, **kwargs) -> nn.Module:
    if name not in MODELS:
        raise LabsError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}")
    try:
        return MODELS[name](**kwargs)
    except TypeError as err:
        raise LabsError(f"bad arguments for model {name!r}: {err}") from None


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _check_int(what: str, value, lo: int, hi: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise LabsError(f"{what} must be a whole number from {lo} to {hi}, got {value!r}")

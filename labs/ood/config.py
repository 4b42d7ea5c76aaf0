"""Lab 4 knobs: one dataclass per view with commented defaults and its constraints, and the ETAs
of the two trainings the lab offers (from the shared throughput model in labs.core.eta).

No torch here: the tab reads these to lay itself out before torch is imported.
"""

from __future__ import annotations

from dataclasses import dataclass

from labs.core import eta, params
from labs.core.params import Interval, Name, Numbers, Options, Subset
from labs.ood.detectors import EPS_SCALE, EPSILON, LIVE_EXTRAS, SEED_EPSILONS, SEED_TEMPERATURES, TEMPERATURE
from labs.ood.oodsets import OOD_SETS

IMAGES_PER_SIDE = Interval(int, 2, 10_000)  # 2: one image per validation/test half; the test sets hold 10,000
# The tab's starting images per side: the view drawn as the tab opens (the preselected checkpoint and OOD set)
# takes seconds, not the half minute 1,000 per side took on a busy 2-core CPU; type a larger n + Enter for more.
FIRST_VIEW_IMAGES = 200
MAX_GRID = 64                               # (T, epsilon) pairs in one grid search


@dataclass
class ViewConfig(params.Checked):
    """Which classifier and which images: the in-distribution set is the checkpoint's own data set."""

    checkpoint: str = ""          # a name in the checkpoint folder ($LABS_CHECKPOINT_DIR, else checkpoints/)
    ood_set: str = "uniform"      # labs.ood.oodsets.OOD_SETS
    images_per_side: int = 1000   # the first n ID test images and the first n OOD images

    CONSTRAINTS = {"checkpoint": Name(), "ood_set": Options(*OOD_SETS), "images_per_side": IMAGES_PER_SIDE}


@dataclass
class LiveConfig(ViewConfig):
    """The live view: ODIN at one (T, epsilon) against max softmax, on all n images per side."""

    temperature: float = 1.0      # T
    epsilon: float = 0.0          # on the scale eps_scale names
    extras: tuple[str, ...] = ()  # other logit-only detectors to draw too (at their default setting)
    eps_scale: str = "seed"       # "seed": epsilon added to the normalised input | "paper": pixel units / std

    CONSTRAINTS = {**ViewConfig.CONSTRAINTS, "temperature": TEMPERATURE, "epsilon": EPSILON,
                   "extras": Subset(LIVE_EXTRAS, min_size=0), "eps_scale": EPS_SCALE}


@dataclass
class GridConfig(ViewConfig):
    """The protocol: every detector's space searched on the validation halves, reported on the test halves.
    These values replace a detector's own for its hyperparameters of the same name."""

    temperatures: tuple[float, ...] = SEED_TEMPERATURES  # the seed's grid
    epsilons: tuple[float, ...] = SEED_EPSILONS          # on the scale eps_scale names
    eps_scale: str = "seed"       # "seed": epsilon added to the normalised input | "paper": pixel units / std

    CONSTRAINTS = {**ViewConfig.CONSTRAINTS, "temperatures": Numbers(TEMPERATURE, MAX_GRID),
                   "epsilons": Numbers(EPSILON, MAX_GRID), "eps_scale": EPS_SCALE}

    def check_more(self) -> None:
        pairs = len(self.temperatures) * len(self.epsilons)
        if pairs > MAX_GRID:
            params.fail("grid", f"at most {MAX_GRID} (temperature, epsilon) pairs", pairs)

    def space(self) -> dict[str, tuple[float, ...]]:
        """hyperparameter -> values (the names the detectors' spaces use)."""
        return {"temperature": self.temperatures, "epsilon": self.epsilons, "eps_scale": (self.eps_scale,)}


@dataclass
class QuickClassifierConfig(params.Checked):
    """What the tab offers to change of the recipe "resnet77_cifar10_quick" (labs.core.recipes)."""

    train_images: int = 10_000    # a seeded subset of the 50,000 CIFAR-10 train images (the recipe's value)
    epochs: int = 2               # the recipe's value

    CONSTRAINTS = {"train_images": Interval(int, 256, 50_000), "epochs": Interval(int, 1, 50)}


@dataclass
class AutoencoderConfig(params.Checked):
    """What the CLI offers to change of the recipe "autoencoder_cifar10" (labs.core.recipes)."""

    train_images: int = 20_000    # the recipe's value
    epochs: int = 3               # the recipe's value

    CONSTRAINTS = {"train_images": Interval(int, 128, 50_000), "epochs": Interval(int, 1, 50)}


# ETAs. The quick classifier is ResNet[7,7] evaluated on the recipe's 2,000 test images after every
# epoch; the autoencoder is evaluated on 1,000. Per CPU thread the autoencoder trains ~10x as many
# images per second as ResNet[7,7] (15 block-equivalents): measured side by side with engine.fit, and
# in the committed checkpoints' JSONs (autoencoder 650 img/s on 1 thread, ResNet[7,7] 129 on 2).
QUICK_TEST_IMAGES, AUTOENCODER_TEST_IMAGES = 2_000, 1_000
AUTOENCODER_BLOCKS = 1.5


def quick_classifier_seconds(cfg: QuickClassifierConfig, device: str = "cpu") -> float:
    blocks = eta.resnet_blocks((7, 7))
    return (eta.train_seconds(blocks, cfg.train_images * cfg.epochs, device)
            + eta.infer_seconds(blocks, QUICK_TEST_IMAGES * cfg.epochs, device))


def autoencoder_seconds(cfg: AutoencoderConfig, device: str = "cpu") -> float:
    return (eta.train_seconds(AUTOENCODER_BLOCKS, cfg.train_images * cfg.epochs, device)
            + eta.infer_seconds(AUTOENCODER_BLOCKS, AUTOENCODER_TEST_IMAGES * cfg.epochs, device))

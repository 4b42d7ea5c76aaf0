"""Lab 4: ODIN and other post-hoc out-of-distribution detectors.

Higher score = more in-distribution; in-distribution is the positive class in every
metric; ODIN's epsilon is in [0, 1] pixel units (divided by the per-channel std when
the inputs are normalised). See labs.ood.detectors.
"""

from labs.ood.detectors import DETECTORS, Detector, odin_score

__all__ = ["DETECTORS", "Detector", "odin_score"]

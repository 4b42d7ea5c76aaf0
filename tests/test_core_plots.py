"""Shared plot builders: axes stay readable at any span."""

from labs.core import plots


def test_percent_ticks_get_a_decimal_when_the_curves_span_under_five_points():
    narrow = plots.curves({"a": ([1, 2], [0.012, 0.02])}, "t", "epoch", "acc", percent=True)
    wide = plots.curves({"a": ([1, 2], [0.1, 0.5])}, "t", "epoch", "acc", percent=True)
    assert narrow.layout.yaxis.tickformat == ".1%" and wide.layout.yaxis.tickformat == ".0%"


def test_a_few_whole_epochs_get_whole_ticks_and_fractional_or_many_steps_do_not():
    assert plots.curves({"a": ([1, 2, 3], [0.1, 0.2, 0.3])}, "t", "epoch", "acc").layout.xaxis.dtick == 1
    assert plots.curves({"a": ([0.5, 1.0], [0.1, 0.2])}, "t", "epoch", "acc").layout.xaxis.dtick is None
    assert plots.curves({"a": (list(range(1, 200)), [0.1] * 199)}, "t", "step", "loss").layout.xaxis.dtick is None

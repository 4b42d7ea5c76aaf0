"""Shared plot builders: percent axes stay readable at any span."""

from labs.core import plots


def test_percent_ticks_get_a_decimal_when_the_curves_span_under_five_points():
    narrow = plots.curves({"a": ([1, 2], [0.012, 0.02])}, "t", "epoch", "acc", percent=True)
    wide = plots.curves({"a": ([1, 2], [0.1, 0.5])}, "t", "epoch", "acc", percent=True)
    assert narrow.layout.yaxis.tickformat == ".1%" and wide.layout.yaxis.tickformat == ".0%"

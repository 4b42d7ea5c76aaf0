"""Shared plot builders: axes stay readable at any span."""

from labs.core import plots


def test_percent_ticks_get_the_decimals_their_step_needs():
    """Plotly picks the tick step; the format follows it (a flat 11.35% curve got '11%, 11%, 11%' before)."""
    for ys in ([0.012, 0.02], [0.1, 0.5], [0.1135, 0.1135]):
        fig = plots.curves({"a": ([1, 2], ys)}, "t", "epoch", "acc", percent=True)
        stops = [(tuple(s.dtickrange), s.value) for s in fig.layout.yaxis.tickformatstops]
        assert stops == [((None, 0.0001), ".3%"), ((0.0001, 0.001), ".2%"), ((0.001, 0.01), ".1%"),
                         ((0.01, None), ".0%")]


def test_a_few_whole_epochs_get_whole_ticks_and_fractional_or_many_steps_do_not():
    assert plots.curves({"a": ([1, 2, 3], [0.1, 0.2, 0.3])}, "t", "epoch", "acc").layout.xaxis.dtick == 1
    assert plots.curves({"a": ([0.5, 1.0], [0.1, 0.2])}, "t", "epoch", "acc").layout.xaxis.dtick is None
    assert plots.curves({"a": (list(range(1, 200)), [0.1] * 199)}, "t", "step", "loss").layout.xaxis.dtick is None

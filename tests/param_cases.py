"""One or more bad values for any constraint of labs.core.params, for tests parametrised over CONSTRAINTS."""

from labs.core import params


def bad_values(c) -> list:
    if isinstance(c, params.Interval):
        out = []
        if c.lo is not None:
            out.append(c.lo - 1 if c.type is int else (c.lo if c.closed in ("right", "neither") else c.lo - 1.0))
        if c.hi is not None:
            out.append(c.hi + 1 if c.type is int else (c.hi if c.closed in ("left", "neither") else c.hi * 2 + 1.0))
        out.append("abc")
        return out
    if isinstance(c, params.Options):
        return ["no-such-option"]
    if isinstance(c, params.Subset):
        return [("no-such-item",)]
    if isinstance(c, params.Boolean):
        return ["maybe"]
    if isinstance(c, params.Name):
        return ["../tiny", "x" * (c.max_len + 1), ".hidden"]
    if isinstance(c, params.Numbers):
        lo, hi = c.each.lo, c.each.hi
        too_many = ",".join(f"{lo + (hi - lo) * i / c.max_len:g}" for i in range(c.max_len + 1))  # each in range
        return [f"1,{lo / 2 if lo else -1}", f"{hi * 2}", "1,abc", "", too_many]
    if isinstance(c, params.Text):
        return ["x" * (c.max_len + 1)]
    raise TypeError(f"no bad value known for {c!r}")

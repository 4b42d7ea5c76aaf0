"""One exception type for problems a user can fix.

A LabsError's message is shown as-is: one line saying what was wrong and how to
fix it. The CLI prints it and exits with status 2; the tabs turn it into a
gr.Error / gr.Warning. Anything else escaping is a bug.
"""


class LabsError(Exception):
    """A user-facing error: bad input, missing data or weights, a mismatched checkpoint."""


"""`python -m labs reproduce`: every result the labs show, at full scale, with the project's own engine."""

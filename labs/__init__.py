"""Deep Learning Applications Lab: experiment code shared by the dashboard, the CLI and the tests.

The UI (app.py, labs/*/tab.py) imports labs; labs never import the UI, and
labs.core imports no lab.
"""

__version__ = "0.1.0"

"""Command line: python -m labs <command> [--flags].

Each lab contributes its commands through a `cli.py` module exposing
`register(subparsers)`, which adds sub-parsers whose `func(args) -> int` runs the
command. A LabsError becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

# Modules that register commands, in the order `--help` lists them.
CLI_MODULES = ["labs.residual.cli", "labs.transfer.cli", "labs.story.cli", "labs.ood.cli", "labs.core.cli"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m labs", description="Deep Learning Applications Lab, headless.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in CLI_MODULES:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from labs.core.errors import LabsError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except LabsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""Command line: python -m labs <command> [--flags].

Each lab contributes its commands through a `cli.py` module exposing
`register(subparsers)`, which adds sub-parsers whose `func(args) -> int` runs the
command. A LabsError becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys

from labs.core import cli as core_cli
from labs.ood import cli as ood_cli
from labs.reproduce import cli as reproduce_cli
from labs.residual import cli as residual_cli
from labs.story import cli as story_cli
from labs.transfer import cli as transfer_cli

# Modules that register commands, in the order `--help` lists them.
CLI_MODULES = [residual_cli, transfer_cli, story_cli, ood_cli, core_cli, reproduce_cli]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m labs", description="Deep Learning Applications Lab, headless.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in CLI_MODULES:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from labs.core.errors import LabsError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except LabsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a path the file system refuses (too long, no permission, disk full): the user's to fix
        where = f" ({_short(err.filename)})" if getattr(err, "filename", None) else ""
        print(f"error: {err.strerror or err}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _short(path, keep: int = 60) -> str:
    text = str(path)
    return text if len(text) <= keep else f"{text[:keep]}... ({len(text):,} characters)"


if __name__ == "__main__":
    sys.exit(main())

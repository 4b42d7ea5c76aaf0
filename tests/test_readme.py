"""Every command the README and RESULTS.md quote is one the CLI accepts (a renamed flag breaks this test, not a
reader's copy-paste). Templates ("[--stage NAME ...]", "--epochs N", "--help") are left out."""

import re
import shlex
from pathlib import Path

import pytest

from labs.__main__ import build_parser

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = re.compile(r"\[|\.\.\.| N\b|--help")


def quoted_commands() -> list[str]:
    found = []
    for name in ("README.md", "RESULTS.md"):
        text = (ROOT / name).read_text().replace("\n", " ")  # a command may wrap inside its backticks
        found += [c for c in re.findall(r"`(python -m labs [^`]*)`", text) if not TEMPLATE.search(c)]
    return sorted(set(found))


def test_the_documents_quote_commands():
    commands = quoted_commands()
    assert len(commands) >= 15 and any("reproduce --missing" in c for c in commands)


@pytest.mark.parametrize("command", quoted_commands())
def test_every_quoted_command_parses(command):
    args = build_parser().parse_args(shlex.split(command)[3:])
    assert callable(args.func)


def test_every_quoted_script_exists():
    text = (ROOT / "README.md").read_text()
    scripts = set(re.findall(r"`(?:python|bash) ((?:bench|tests)/[\w./-]+\.(?:py|sh))", text))
    assert "bench/train_throughput.py" in scripts and "bench/gpu_check.sh" in scripts
    assert [s for s in sorted(scripts) if not (ROOT / s).is_file()] == []

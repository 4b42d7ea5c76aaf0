"""The app lists its tabs directly and builds its page without importing torch."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_building_the_page_imports_no_torch():
    code = ("import sys, app; app.build_demo(); "
            "heavy = [m for m in ('torch', 'transformers', 'sklearn') if m in sys.modules]; "
            "print(heavy); sys.exit(1 if heavy else 0)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"page build imported {out.stdout.strip()} {out.stderr[-500:]}"


def test_every_lab_folder_has_the_same_files():
    for lab in ("residual", "transfer", "story", "ood"):
        folder = ROOT / "labs" / lab
        have = {p.name for p in folder.glob("*.py")}
        shape = {"config.py", "experiment.py", "figures.py", "tab.py", "cli.py"}
        assert shape <= have, f"labs/{lab} lacks {sorted(shape - have)}"


def test_no_lab_file_is_past_about_300_lines():
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / "labs").rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 320}
    assert not long, long

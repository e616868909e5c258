"""The package stays lint-clean and type-checks (ruff and mypy run as part of the suite)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
# What `make lint` checks, with ruff.toml (line length included).
LINTED = ["lib", "tests", "jobs", "dags", "bench", "notebooks", "setup.py"]


def test_ruff(project_dir: Path) -> None:
    result = subprocess.run([str(BIN / "ruff"), "check", *LINTED], cwd=project_dir,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]


def test_mypy(project_dir: Path) -> None:
    result = subprocess.run([str(BIN / "mypy"), "lib/custseg"], cwd=project_dir, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout[-3000:]

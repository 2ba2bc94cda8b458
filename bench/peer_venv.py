"""Virtual environments for peers with awkward pins (TSB-AD, dtaianomaly,
cornac): made once under bench/out, with the local CPU torch wheel installed
first and pinned again beside the peer, so nothing pulls a CUDA build."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def build_venv(venv: Path, packages: list[str], freeze_folder: Path) -> Path:
    """Create ``venv`` (unless it exists) with torch 2.13.0 first, then
    ``packages`` beside the same torch, and write its ``pip freeze`` to
    ``freeze_folder/freeze.txt``. Returns the environment's python."""
    python = venv / "bin" / "python"
    if python.exists():
        return python
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "torch==2.13.0"], check=True)
    subprocess.run([*pip, *packages, "torch==2.13.0"], check=True)
    freeze = subprocess.run(
        [str(python), "-m", "pip", "freeze"], check=True, capture_output=True
    )
    (freeze_folder / "freeze.txt").write_bytes(freeze.stdout)
    return python

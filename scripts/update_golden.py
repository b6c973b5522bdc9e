"""Regenerate tests/golden/sample_flagged.csv after a deliberate change to the pipeline or
the shipped model: `.venv/bin/python scripts/update_golden.py`. Review the diff before
committing it."""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

repo = Path(__file__).resolve().parent.parent
with tempfile.TemporaryDirectory() as tmp:
    out = Path(tmp) / "flagged.csv"
    subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(repo / "data" / "sample"),
                    "-o", str(out), "--config", str(repo / "configs" / "run.yaml"),
                    "--backend", "torch", "--set", "topics.backend=torch",  # fp32: the same everywhere
                    "--threshold", "0.1"],  # as tests/conftest.py's sample_run: a few dozen rows
                   check=True, cwd=repo)
    shutil.copy(out, repo / "tests" / "golden" / "sample_flagged.csv")
print("updated tests/golden/sample_flagged.csv")

"""Run every example script, so none rots (the docs build runs them too)."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("plot_*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_has_a_gallery_title(script):
    """sphinx-gallery (and `sphinx-build -W`) needs a docstring that opens
    with a title underlined (and maybe overlined) by a rule at least as long."""
    lines = [line.strip() for line in ast.get_docstring(
        ast.parse(script.read_text()), clean=False).strip().splitlines()]
    if set(lines[0]) == {"="}:  # overline, title, underline
        assert lines[2] == lines[0], lines[:3]
        lines = lines[1:]
    title, rule = lines[0], lines[1]
    assert title and set(rule) == {"="} and len(rule) >= len(title), lines[:2]


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(script, tmp_path):
    pytest.importorskip("matplotlib")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("DISPLAY", None)
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip(), "an example prints what it found"
    if "dask" not in script.stem or "Skipping" not in done.stdout:
        assert list(tmp_path.glob("*.png")) or "dask" in script.stem

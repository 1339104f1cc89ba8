"""Installs that work with any pip (issue 22, item 7): the package installed into a new venv
with the pip that venv ships (23.2 on Python 3.11, which skips some extras), from PyPI, then
``newsmon --help`` and ``newsmon extract`` (which imports trafilatura and lxml.html.clean,
what crashed when lxml_html_clean was not declared) run from it. Takes about two minutes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "sample_data" / "highlights_page.html"


@pytest.mark.slow
def test_a_new_venv_with_its_own_pip_gets_a_working_newsmon(tmp_path: Path) -> None:
    # A copy of the sources: pip builds in the tree it is given, and tests never write there.
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".venv", ".git", "*.egg-info", "build", "__pycache__", ".*_cache", "tests", "data",
        "benchmarks"))
    venv = tmp_path / "venv"
    base = Path(sys.base_prefix) / "bin" / "python3"
    subprocess.run([str(base), "-m", "venv", str(venv)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NEWSMON_", "PYTHON", "VIRTUAL_ENV"))}
    pip = subprocess.run([str(venv / "bin" / "pip"), "--version"], capture_output=True,
                         text=True, check=True, env=env)
    assert pip.stdout.startswith("pip "), pip.stdout  # the venv's own, not upgraded
    install = subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet",
                              "--disable-pip-version-check", str(src)], capture_output=True,
                             text=True, timeout=600, env=env, cwd=tmp_path)
    assert install.returncode == 0, install.stderr[-4000:]
    newsmon = str(venv / "bin" / "newsmon")
    help_run = subprocess.run([newsmon, "--help"], capture_output=True, text=True,
                              timeout=120, env=env, cwd=tmp_path)
    assert help_run.returncode == 0, help_run.stderr
    assert "Usage: newsmon" in help_run.stdout
    extract = subprocess.run([newsmon, "extract", str(SAMPLE), "--url",
                              "https://news.example.in/defence/india-us-defence-ties",
                              "--fetched-at", "2026-11-25T10:00:00+00:00"],
                             capture_output=True, text=True, timeout=120, env=env,
                             cwd=tmp_path)
    assert extract.returncode == 0, extract.stderr
    assert '"highlights"' in extract.stdout
    assert "lxml_html_clean" not in extract.stderr

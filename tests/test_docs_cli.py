"""docs/cli.md is generated from the commands' --help (newsmon/docs_cli.py); this fails when
the file has drifted from the code. Regenerate with `python -m newsmon.docs_cli`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "cli.md"


def _check(output: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    return subprocess.run([sys.executable, "-m", "newsmon.docs_cli", "--check", "--output",
                           str(output)], capture_output=True, text=True, timeout=120, env=env,
                          cwd=ROOT)


def test_docs_cli_md_matches_every_commands_help() -> None:
    result = _check(DOC)
    assert result.returncode == 0, result.stderr
    text = DOC.read_text(encoding="utf-8")
    for command in ("crawl", "demo", "run", "search", "db upgrade", "status"):
        assert f"\n## newsmon {command}\n" in text
    assert "A -word is always part of the query" in " ".join(text.split())


def test_a_drifted_reference_fails_the_check(tmp_path: Path) -> None:
    stale = tmp_path / "cli.md"
    stale.write_text(DOC.read_text(encoding="utf-8").replace("--quiet", "--silent"),
                     encoding="utf-8")
    result = _check(stale)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"{stale} is out of date: run python -m "
                                     "newsmon.docs_cli")

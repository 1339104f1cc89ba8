"""Write one section of docs/benchmarks.md from a benchmark run, leaving the others alone."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCS_PATH = REPO_ROOT / "docs" / "benchmarks.md"


def commit() -> str:
    """The checked-out commit (short hash, ``+dirty`` when the tree has changes)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO_ROOT, capture_output=True, text=True,
                               check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


@dataclass(frozen=True)
class RunInfo:
    """Where and when a run happened, for the line every generated section carries."""

    commit: str
    day: str
    python: str
    cpus: int

    def sentence(self) -> str:
        """``Run of commit …, …, Python …, N CPUs.``, from this run's own values."""
        return (f"Run of commit {self.commit} on {self.day}, Python {self.python}, "
                f"{self.cpus} CPU{'' if self.cpus == 1 else 's'}.")


def run_info() -> RunInfo:
    """This run: the checked-out commit, today's UTC date, Python and the CPU count."""
    return RunInfo(commit(), f"{datetime.now(UTC):%Y-%m-%d}", platform.python_version(),
                   os.cpu_count() or 1)


def replace_section(heading: str, body: str, path: Path = DOCS_PATH) -> Path:
    """Replace the section that starts with ``heading`` (a ``## `` line) by ``heading`` and
    ``body``, or append it when the file has none."""
    section = f"{heading}\n\n{body.strip()}\n"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text, count=1).rstrip("\n") + "\n"
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path

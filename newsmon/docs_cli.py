"""docs/cli.md: the CLI reference, generated from each command's --help.

    python -m newsmon.docs_cli            # rewrite docs/cli.md
    python -m newsmon.docs_cli --check    # exit 1 if docs/cli.md differs from --help (CI)

The help is rendered 100 columns wide without colour, as `newsmon COMMAND --help` prints it;
tests/test_docs_cli.py fails when the file has drifted from the code."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
WIDTH = "100"
HEADER = """# newsmon CLI reference

Generated from `newsmon --help` by `python -m newsmon.docs_cli` (`make cli-docs`); do not
edit by hand: `python -m newsmon.docs_cli --check` (a test) fails when this file and the
commands' help differ.
"""


def _help(args: list[str]) -> str:
    from typer.testing import CliRunner

    from newsmon.app import app

    result = CliRunner().invoke(app, [*args, "--help"], prog_name="newsmon",
                                env={"COLUMNS": WIDTH, "NO_COLOR": "1", "TERM": "dumb"})
    if result.exit_code != 0:
        raise RuntimeError(f"newsmon {' '.join(args)} --help failed: {result.output}")
    return "\n".join(line.rstrip() for line in result.output.strip("\n").splitlines())


def _commands() -> list[list[str]]:
    """Every command path, sorted: ["crawl"], ["db"], ["db", "index"], ..."""
    import typer.main

    from newsmon.app import app
    from newsmon.cli import _load_commands

    _load_commands()
    root = typer.main.get_command(app)
    out: list[list[str]] = []

    def walk(group: object, path: list[str]) -> None:
        for name, cmd in sorted(getattr(group, "commands", {}).items()):
            if getattr(cmd, "hidden", False):
                continue
            out.append([*path, name])
            walk(cmd, [*path, name])

    walk(root, [])
    return out


def render() -> str:
    from newsmon.cli import _load_commands

    os.environ.pop("NEWSMON_CONFIG", None)
    _load_commands()
    parts = [HEADER, "## newsmon\n", "```text", _help([]), "```\n"]
    for path in _commands():
        parts += [f"## newsmon {' '.join(path)}\n", "```text", _help(path), "```\n"]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m newsmon.docs_cli", description=__doc__)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the file differs from the commands' help")
    parser.add_argument("--output", type=Path, default=DOC)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run python -m newsmon.docs_cli",
                  file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

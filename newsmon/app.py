"""The shared Typer application that every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="newsmon",
    help="Scheduled news monitoring for defence and trade news.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Reflow docstring paragraphs; commands keep their line breaks only between paragraphs.
    rich_markup_mode="markdown",
)

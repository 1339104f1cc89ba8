"""The shared Typer application that every command module registers on."""

from __future__ import annotations

from typing import Any

import typer
from typer import _coercion, _display, _param_types
from typer.core import TyperOption

app = typer.Typer(
    name="newsmon",
    help="Scheduled news monitoring for defence and trade news.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Reflow docstring paragraphs; commands keep their line breaks only between paragraphs.
    rich_markup_mode="markdown",
)

# Two things Typer 0.29 prints that a user should not see (issue 22); tests/test_cli_small_things.py
# holds both. A flag or a counter (--json, -v, --help) takes no value, yet its help row shows
# "<bool>" or "<int>" as if it did.
_type_of = TyperOption.display_type_rich


def _no_type_for_flags(self: TyperOption, ctx: Any) -> str | None:
    if self.is_flag or self.count:
        return None
    return _type_of(self, ctx)


TyperOption.display_type_rich = _no_type_for_flags  # type: ignore[method-assign]

# A bad choice (--format xml) comes back as pydantic's message, which starts "Value error, ".
_error_msg = _display.get_error_msg


def _plain_error_msg(exc: Any) -> str:
    return _error_msg(exc).removeprefix("Value error, ")


# Both modules import it by name.
_coercion.get_error_msg = _plain_error_msg  # type: ignore[attr-defined]
_param_types.get_error_msg = _plain_error_msg  # type: ignore[attr-defined]

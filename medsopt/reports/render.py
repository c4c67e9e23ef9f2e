"""The one Jinja2 environment every page is rendered with: autoescaped, strict about names."""

from __future__ import annotations

import functools

from jinja2 import Environment, PackageLoader, StrictUndefined


@functools.cache
def environment() -> Environment:
    """The shared environment over `medsopt/reports/templates/`.

    Autoescape is on for every template (they are all HTML), so a rule title or a practice id
    is always text, never markup. StrictUndefined turns a misspelt variable into an error
    instead of a silently empty cell.
    """
    env = Environment(
        loader=PackageLoader("medsopt.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["thousands"] = thousands
    return env


def thousands(value: int) -> str:
    """An integer with comma separators: 12345 -> '12,345'."""
    return f"{value:,}"


def render(template: str, **context: object) -> str:
    """Render one template by name, e.g. `render("simulation.html.j2", page=page)`."""
    return environment().get_template(template).render(**context)

"""A rule's detail or recommendation text, parsed once into literal text and placeholders."""

from __future__ import annotations

import string
from dataclasses import dataclass


class TemplateError(ValueError):
    """The text is not a valid template: bad braces, a conversion or a format spec."""


@dataclass(frozen=True, slots=True)
class Template:
    """Text with `{name}` placeholders; `parts` alternate literal text and placeholder names.

    Only bare names are allowed: a format spec (`{medicines:>5000000}`) or conversion (`{age!r}`)
    could make an answer too large to deliver, or reformat a value the committee never saw.
    """

    source: str
    parts: tuple[tuple[str, str | None], ...]  # (literal text, placeholder name or None)

    @property
    def placeholders(self) -> frozenset[str]:
        """Every placeholder name the text uses."""
        return frozenset(name for _, name in self.parts if name is not None)


def parse_template(text: str) -> Template:
    """Parse `text`; raise TemplateError naming the first problem."""
    try:
        pieces = list(string.Formatter().parse(text))
    except ValueError as error:
        raise TemplateError(f"bad placeholder: {error}; write {{{{ and }}}} for braces") from error
    parts: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in pieces:
        if name is not None and (spec or conversion or not name.isidentifier()):
            raise TemplateError(
                f"placeholder {{{name}{'!' + conversion if conversion else ''}"
                f"{':' + spec if spec else ''}}} is not allowed; write a bare name such as "
                "{medicines}"
            )
        parts.append((literal, name or None))
    return Template(text, tuple(parts))

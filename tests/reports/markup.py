"""Read a rendered page back as a browser would: which elements it has, its text, its attributes."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

# Text no template may ever emit as markup: a script, an element with a handler, quotes, "&".
HOSTILE = "<script>alert(1)</script> \"quoted\" & 'single' <img src=x onerror=alert(2)>"


@dataclass
class Page(HTMLParser):
    """Elements, visible text and attribute values of one HTML page."""

    elements: set[str] = field(default_factory=set)
    attribute_names: set[str] = field(default_factory=set)
    attribute_values: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.add(tag)
        for name, value in attrs:
            self.attribute_names.add(name)
            self.attribute_values.append(value or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Page:
    """The page as parsed by the standard library's HTML parser."""
    page = Page()
    page.feed(html)
    page.close()
    return page


def assert_inert(html: str, *, in_attribute: bool = False) -> None:
    """HOSTILE shows as text (and, if asked, as an attribute value) and never as markup."""
    page = parse(html)
    assert "<script" not in html
    assert "script" not in page.elements and "img" not in page.elements
    assert "onerror" not in page.attribute_names
    assert HOSTILE in "".join(page.text)
    if in_attribute:
        assert HOSTILE in page.attribute_values

"""The shared template environment: autoescaped, strict, and every template self-contained."""

from __future__ import annotations

import pytest
from jinja2 import StrictUndefined, UndefinedError

from medsopt.reports.render import environment


def test_autoescape_is_on_for_every_template() -> None:
    env = environment()
    assert env.autoescape is True
    assert env.from_string("{{ x }}").render(x='<i a="b">&') == "&lt;i a=&#34;b&#34;&gt;&amp;"


def test_an_undefined_variable_is_an_error_not_an_empty_cell() -> None:
    env = environment()
    assert env.undefined is StrictUndefined
    with pytest.raises(UndefinedError):
        env.from_string("<td>{{ page.title }}</td>").render()
    with pytest.raises(UndefinedError):
        env.from_string("<td>{{ page.title }}</td>").render(page={})


# The analytics page draws its charts with plotly.js, inlined whole at render time (no network;
# docs/adr.md ADR 17); every other page is script-free.
SCRIPTED = {"analytics.html.j2"}


def test_every_template_compiles_and_loads_nothing_from_outside() -> None:
    env = environment()
    assert env.loader is not None
    names = env.list_templates()
    assert "base.html.j2" in names
    for name in names:
        env.get_template(name)
        source, _, _ = env.loader.get_source(env, name)
        assert "<script" not in source or name in SCRIPTED, name
        assert "://" not in source, name
        assert "|safe" not in source.replace(" ", ""), name  # nothing bypasses escaping

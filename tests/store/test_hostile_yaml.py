"""Hostile YAML: every unsafe construct is a bounded rejection with file:line:column."""

from __future__ import annotations

import pytest

from medsopt.authoring.diagnostics import DiagnosticKind
from medsopt.authoring.source_map import MAX_VALUES, parse_yaml
from medsopt.authoring.yaml_screen import MAX_DEPTH, MAX_YAML_CHARS


def bomb(levels: int) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    names = "abcdefghijklmnop"
    for i in range(1, levels):
        lines.append(f"{names[i]}: &{names[i]} [" + ",".join([f"*{names[i - 1]}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def shown(text: str) -> list[str]:
    return [str(d) for d in parse_yaml(text, "f.yaml").diagnostics]


def test_an_alias_bomb_is_refused_at_its_first_nested_alias() -> None:
    text = bomb(9)  # 9**9 values if expanded
    assert len(text) < 470
    parsed = parse_yaml(text, "f.yaml")
    assert parsed.data is None
    assert [str(d) for d in parsed.diagnostics] == [
        "f.yaml:2:8: error[yaml-alias]: alias *a inside an anchored value would be expanded "
        "more than once"
    ]


def test_a_recursive_alias_is_refused() -> None:
    assert [d.kind for d in parse_yaml("a: &a [1, *a]\n", "f.yaml").diagnostics] == [
        DiagnosticKind.YAML_ALIAS
    ]


def test_an_alias_outside_anchored_values_is_expanded_once() -> None:
    text = "first:\n  citations: &c [{source: BNF}]\nsecond:\n  citations: *c\n"
    parsed = parse_yaml(text, "f.yaml")
    assert parsed.diagnostics == ()
    assert parsed.data["second"]["citations"] == [{"source": "BNF"}]


def test_many_aliases_of_a_large_anchor_are_bounded() -> None:
    anchor = "a: &a [" + ",".join(["1"] * 5000) + "]\n"
    text = anchor + "b: [" + ",".join(["*a"] * 100) + "]\n"
    assert len(text) < MAX_YAML_CHARS
    assert shown(text) == [
        f"f.yaml:1:1: error[too-large]: file expands to more than {MAX_VALUES:,} values "
        "(aliases included)"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "rationale: !!python/name:os.system x\n",
            "f.yaml:1:12: error[yaml-tag]: tag '!!python/name:os.system' is not allowed; "
            "committee files hold plain values",
        ),
        (
            "a: !!python/object/apply:os.system [ls]\n",
            "f.yaml:1:4: error[yaml-tag]: tag '!!python/object/apply:os.system' is not "
            "allowed; committee files hold plain values",
        ),
        (
            "a: !custom {b: 1}\n",
            "f.yaml:1:4: error[yaml-tag]: tag '!custom' is not allowed; committee files hold "
            "plain values",
        ),
        (
            "rules:\n  - ? [a, b]\n    : c\n",
            "f.yaml:2:7: error[yaml-key]: a key must be a plain value, not a mapping or a list",
        ),
        (
            "a:\n  {x: 1}: 2\n",
            "f.yaml:2:3: error[yaml-key]: a key must be a plain value, not a mapping or a list",
        ),
        (
            "date_reviewed: 2026-13-45\n",
            "f.yaml:1:16: error[invalid-value]: value '2026-13-45' cannot be read (invalid)",
        ),
    ],
)
def test_unsafe_constructs_are_diagnostics_not_exceptions(text: str, expected: str) -> None:
    assert shown(text) == [expected]


def test_deep_nesting_is_refused_by_the_screen() -> None:
    text = "".join(" " * level + "k:\n" for level in range(200)) + " " * 200 + "v\n"
    (message,) = shown(text)
    assert message == (
        f"f.yaml:{MAX_DEPTH + 1}:{MAX_DEPTH + 1}: error[too-large]: values nest more than "
        f"{MAX_DEPTH} deep"
    )


def test_deep_flow_nesting_is_a_bounded_syntax_error() -> None:
    depth = 100_000
    (message,) = shown("a: " + "[" * depth + "]" * depth + "\n")
    assert "error[yaml-syntax]: exceeded maximum nesting depth" in message


def test_an_oversized_file_is_refused_unparsed() -> None:
    assert shown("a: " + "x" * MAX_YAML_CHARS) == [
        "f.yaml:1:1: error[too-large]: file has 1,048,579 characters (expected at most 1,048,576)"
    ]


def test_a_diagnostic_quotes_only_a_short_token() -> None:
    long_key = "k" * 500
    text = f"{long_key}: 1\n{long_key}: 2\n"
    (message,) = shown(text)
    assert len(message) < 200
    assert "kkkk…" in message

"""Screen a YAML text before it is composed: size, nesting, tags and aliases within bounds.

Committee files come from many hands; a hostile or broken one must be a bounded, fast rejection
with a position, never an exception, a hang or gigabytes of memory. The screen reads parser
events only (libyaml's parser keeps its own stack, so deep nesting cannot exhaust ours).
"""

from __future__ import annotations

from typing import Any

import yaml

from medsopt.authoring.diagnostics import Diagnostic, DiagnosticKind, token

try:  # libyaml's parser is much faster; the pure-Python one gives the same events.
    Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - libyaml missing
    Loader = yaml.SafeLoader

# The largest bundled committee YAML file is 43 KB; 1 MiB leaves room and bounds the parse.
MAX_YAML_CHARS = 1024 * 1024
# Bundled files nest at most 8 deep; anything near this limit is not a committee file.
MAX_DEPTH = 64
# Stop screening after this many problems: one broken file must not flood the status.
MAX_PROBLEMS = 20
_COLLECTION_START = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_COLLECTION_END = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _at(file: str, mark: Any, kind: DiagnosticKind, message: str) -> Diagnostic:
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return Diagnostic(file, line, column, kind, message)


def screen_yaml(text: str, file: str) -> tuple[Diagnostic, ...]:
    """Problems that make `text` unsafe to compose; empty when it may be composed.

    An alias is allowed only outside anchored values, so each is expanded once and aliases
    never multiply (a "billion laughs" file is refused at its first nested alias).
    """
    if len(text) > MAX_YAML_CHARS:
        message = f"file has {len(text):,} characters"
        return (
            Diagnostic(
                file,
                1,
                1,
                DiagnosticKind.TOO_LARGE,
                message,
                expected=f"at most {MAX_YAML_CHARS:,}",
            ),
        )
    problems: list[Diagnostic] = []
    # Per open collection: whether it or an enclosing collection carries an anchor.
    anchored: list[bool] = []
    try:
        for event in yaml.parse(text, Loader=Loader):
            if len(problems) >= MAX_PROBLEMS:
                break
            tag = getattr(event, "tag", None)
            if tag is not None:
                shown = tag.replace("tag:yaml.org,2002:", "!!")
                problems.append(
                    _at(
                        file,
                        event.start_mark,
                        DiagnosticKind.YAML_TAG,
                        f"tag {token(shown)} is not allowed; committee files hold plain values",
                    )
                )
            if isinstance(event, _COLLECTION_START):
                if len(anchored) >= MAX_DEPTH:
                    message = f"values nest more than {MAX_DEPTH} deep"
                    problems.append(_at(file, event.start_mark, DiagnosticKind.TOO_LARGE, message))
                    break
                inside = bool(anchored and anchored[-1]) or event.anchor is not None
                anchored.append(inside)
            elif isinstance(event, _COLLECTION_END):
                anchored.pop()
            elif isinstance(event, yaml.AliasEvent) and anchored and anchored[-1]:
                problems.append(
                    _at(
                        file,
                        event.start_mark,
                        DiagnosticKind.YAML_ALIAS,
                        f"alias *{token(event.anchor)[1:-1]} inside an anchored value would be "
                        "expanded more than once",
                    )
                )
                break  # the file is refused at its first nested alias
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problems.append(_at(file, mark, DiagnosticKind.YAML_SYNTAX, str(error.problem)))
    return tuple(problems)

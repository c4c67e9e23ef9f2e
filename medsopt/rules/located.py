"""A parsed item and the file position it came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from medsopt.authoring.source_map import SourceMap

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Located(Generic[T]):
    """An item with its file, line and column."""

    item: T
    file: str
    line: int
    column: int


def located_at(item: T, smap: SourceMap, path: tuple[str | int, ...]) -> Located[T]:
    line, column = smap.locate(path)
    return Located(item, smap.file, line, column)

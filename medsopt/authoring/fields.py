"""Pydantic building blocks shared by every committee file format (rules, formulary, tables)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from medsopt.authoring.diagnostics import token
from medsopt.dmd.codes import code_problem


def _sctid(value: str) -> str:
    problem = code_problem(value)
    if problem is not None:
        raise ValueError(f"{token(value)} {problem.value}")
    return value


# A SNOMED CT concept id, checked on read (digits, length, partition, Verhoeff check digit).
SctIdText = Annotated[str, AfterValidator(_sctid)]
Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]


class FileModel(BaseModel):
    """Base for every model read from a committee file.

    `extra="forbid"`: pydantic's default would silently drop a committee's typo (`severty:`),
    and a dropped field in a safety rule is a silent change of meaning.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

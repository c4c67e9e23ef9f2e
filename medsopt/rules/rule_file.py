"""A YAML file under rules/ (tests/ excepted), as the committee writes it."""

from __future__ import annotations

from medsopt.authoring.fields import FileModel
from medsopt.rules.classes import TherapeuticClass
from medsopt.rules.models import Concern, Group, Rule, RuleSetHeader, Scale


class RuleFile(FileModel):
    """A YAML file under rules/ (tests/ excepted): any of a header, scales, groups and rules."""

    ruleset: RuleSetHeader | None = None
    concerns: tuple[Concern, ...] = ()
    scales: tuple[Scale, ...] = ()
    groups: tuple[Group, ...] = ()
    rules: tuple[Rule, ...] = ()
    # The therapeutic-class table: each row compiles to a duplication rule (rules.classes).
    therapeutic_classes: tuple[TherapeuticClass, ...] = ()

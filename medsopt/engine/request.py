"""A check request in domain terms, as received (strings unparsed until validated)."""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass


class Sex(enum.Enum):
    """Administrative sex; UNKNOWN when not supplied."""

    UNKNOWN = "unknown"
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


class MedicationStatus(enum.Enum):
    """Whether a medicine is taken now or being prescribed in this consultation."""

    CURRENT = "current"
    PROPOSED = "proposed"


@dataclass(frozen=True, slots=True)
class MedicationEntry:
    """One medicine as the caller sent it."""

    ref: str
    code: str
    status: MedicationStatus = MedicationStatus.CURRENT
    start_date: str | None = None
    display: str = ""


class BiologicExceptionKind(enum.Enum):
    """Why a biosimilar switch should not be pressed; UNSPECIFIED is invalid."""

    UNSPECIFIED = "unspecified"
    FAILED_SWITCH = "failed-switch"  # a previous switch failed: suggestions are suppressed
    DECLINED = "declined"  # the patient declined: suggestions are softened until expires_on


@dataclass(frozen=True, slots=True)
class BiologicException:
    """A recorded patient-level exception to biosimilar switching for one molecule."""

    molecule_code: str  # the VTM (a VMP or AMP code of the molecule is also understood)
    kind: BiologicExceptionKind
    expires_on: str | None = None  # ISO date as sent; the day it stops applying


@dataclass(frozen=True, slots=True)
class MonitoringResult:
    """A dated test result, as sent (date unparsed until validated)."""

    code: str  # SNOMED CT procedure or observable, e.g. a full blood count
    date: str  # ISO date the sample was taken
    value: float | None = None
    unit: str = ""


@dataclass(frozen=True, slots=True)
class PatientContext:
    """The clinical facts supplied; None means not supplied, never 'normal'."""

    age_years: int | None = None
    sex: Sex = Sex.UNKNOWN
    egfr: float | None = None
    pregnant: bool | None = None
    condition_codes: tuple[str, ...] = ()
    biologic_exceptions: tuple[BiologicException, ...] = ()
    monitoring: tuple[MonitoringResult, ...] = ()
    # The date from which `monitoring` holds every result the record has (ISO, as sent); None:
    # an absent result cannot be told from one not sent, so monitoring rules ask.
    monitoring_from: str | None = None


@dataclass(frozen=True, slots=True)
class CheckRequest:
    """A patient's medicines to check."""

    medications: tuple[MedicationEntry, ...]
    patient: PatientContext = PatientContext()
    request_id: str = ""
    # The date durations are measured to; the service sets today. None: duration rules are
    # reported as not evaluated.
    as_of: datetime.date | None = None
    # The as-of date as the caller wrote it, when they gave one (validated like start_date).
    as_of_text: str | None = None
    # The prescribing moment: only what involves a proposed medicine, and only this severity or
    # higher ("severe", "moderate", "mild", "info"; None: all).
    proposed_only: bool = False
    minimum_severity: str | None = None

"""Proto <-> domain conversion round-trips."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from medsopt.engine.request import (
    BiologicException,
    BiologicExceptionKind,
    CheckRequest,
    MedicationEntry,
    MedicationStatus,
    PatientContext,
    Sex,
)
from medsopt.service.converters import request_from_proto, request_to_proto
from medsopt.v1 import medsopt_pb2 as pb

text = st.text(max_size=20)  # hypothesis excludes surrogates by default
medications = st.builds(
    MedicationEntry,
    ref=text,
    code=st.text("0123456789", max_size=18),
    status=st.sampled_from(MedicationStatus),
    start_date=st.one_of(st.none(), st.dates().map(lambda d: d.isoformat())),
    display=text,
)
biologic_exceptions = st.builds(
    BiologicException,
    molecule_code=st.text("0123456789", max_size=18),
    kind=st.sampled_from(BiologicExceptionKind),
    expires_on=st.one_of(st.none(), st.dates().map(lambda d: d.isoformat()), text),
)
patients = st.builds(
    PatientContext,
    age_years=st.one_of(st.none(), st.integers(-5, 200)),
    sex=st.sampled_from(Sex),
    egfr=st.one_of(st.none(), st.floats(0, 250)),
    pregnant=st.one_of(st.none(), st.booleans()),
    condition_codes=st.lists(st.text("0123456789", min_size=1, max_size=12), max_size=4).map(tuple),
    biologic_exceptions=st.lists(biologic_exceptions, max_size=3).map(tuple),
)
requests = st.builds(
    CheckRequest,
    medications=st.lists(medications, max_size=6).map(tuple),
    patient=patients,
    request_id=text,
)


@given(requests)
def test_domain_proto_domain_round_trip(request: CheckRequest) -> None:
    assert request_from_proto(request_to_proto(request)) == request


@given(requests)
def test_round_trip_survives_the_wire(request: CheckRequest) -> None:
    wire = request_to_proto(request).SerializeToString()
    assert request_from_proto(pb.CheckMedicationsRequest.FromString(wire)) == request

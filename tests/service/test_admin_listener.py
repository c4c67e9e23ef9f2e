"""Administration on its own listener, rate-limited: excess calls get RESOURCE_EXHAUSTED with
a RetryInfo; the patient port does not offer it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from medsopt.service.ratelimit import AdminLimits, RateAdmission, TokenBucket
from medsopt.service.server import RunningServer, ServerConfig, build_server
from medsopt.store.activate import Locations
from medsopt.v1 import medsopt_pb2 as pb
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc

# Refills so slow that none arrives during the test: the counts below are exact.
LIMITS = AdminLimits(calls_per_second=0.001, burst=3, reload_every_seconds=600, reload_burst=1)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_token_bucket_admits_its_burst_then_its_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2, burst=3, clock=clock)
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take() == pytest.approx(0.5)
    clock.now += 0.5
    assert bucket.take() == 0.0
    clock.now += 100  # never more than the burst
    assert [bucket.take() == 0.0 for _ in range(4)] == [True, True, True, False]


def test_a_bucket_needs_a_rate_and_a_burst() -> None:
    with pytest.raises(ValueError, match="positive rate"):
        TokenBucket(rate=0, burst=1)
    with pytest.raises(ValueError, match="burst of at least 1"):
        TokenBucket(rate=1, burst=0)


class RefusedError(Exception):
    """What the fake context raises, as grpc's abort does."""


class Context:
    def __init__(self) -> None:
        self.status: grpc.Status | None = None

    def abort_with_status(self, status: grpc.Status) -> None:
        self.status = status
        raise RefusedError


def test_a_refused_call_is_held_at_most_a_second_before_its_answer() -> None:
    clock, paused = Clock(), list[float]()
    admission = RateAdmission(
        TokenBucket(rate=1, burst=1, clock=clock),
        {"/s/Reload": TokenBucket(rate=0.1, burst=1, clock=clock)},
        pause=paused.append,
    )
    context = Context()
    admission("/s/Reload", context)
    assert paused == [] and context.status is None
    clock.now += 1  # the listener's bucket has a token again; the reload bucket has 0.1
    with pytest.raises(RefusedError):
        admission("/s/Reload", context)
    assert paused == [1.0]  # not the 9 s the reload bucket needs: the RetryInfo says the rest
    assert context.status is not None
    assert context.status.code is grpc.StatusCode.RESOURCE_EXHAUSTED
    with pytest.raises(RefusedError):
        admission("/s/Other", context)
    assert paused == [1.0, 1.0]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningServer]:
    # An empty rules directory: every build fails fast, which is all these calls need.
    config = ServerConfig(
        port=0, locations=Locations(rules_dir=tmp_path), admin_limits=LIMITS, grace_seconds=1
    )
    server = build_server(config)
    yield server
    server.stop()


def retry_seconds(error: grpc.RpcError) -> float:
    status = rpc_status.from_call(error)
    assert status is not None
    for detail in status.details:
        info = error_details_pb2.RetryInfo()
        if detail.Unpack(info):
            return float(info.retry_delay.seconds + info.retry_delay.nanos / 1e9)
    raise AssertionError("no RetryInfo")


def test_reloads_and_admin_calls_beyond_their_buckets_are_refused_with_retry_info(
    running: RunningServer,
) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{running.admin_port}") as channel:
        admin = pb_grpc.RuleSetAdminStub(channel)
        assert admin.ReloadRuleSet(pb.ReloadRuleSetRequest(), timeout=30).rejections == 1
        with pytest.raises(grpc.RpcError) as second_reload:
            admin.ReloadRuleSet(pb.ReloadRuleSetRequest(), timeout=30)
        assert second_reload.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert 590 < retry_seconds(second_reload.value) <= 599  # 600 s less the 1 s held
        assert running.holder.rejections == 1  # the refused reload built nothing
        admin.GetRuleSetStatus(pb.GetRuleSetStatusRequest(), timeout=10)  # the burst's third
        with pytest.raises(grpc.RpcError) as fourth_call:
            admin.GetRuleSetStatus(pb.GetRuleSetStatusRequest(), timeout=10)
        assert fourth_call.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert retry_seconds(fourth_call.value) > 100


def test_administration_is_not_offered_on_the_patient_port(running: RunningServer) -> None:
    with (
        grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel,
        pytest.raises(grpc.RpcError) as raised,
    ):
        pb_grpc.RuleSetAdminStub(channel).ReloadRuleSet(pb.ReloadRuleSetRequest(), timeout=10)
    assert raised.value.code() is grpc.StatusCode.UNIMPLEMENTED
    assert running.holder.rejections == 0


def test_the_admin_port_follows_the_patient_port_unless_given() -> None:
    assert ServerConfig(port=50051).admin_port_to_bind == 50052
    assert ServerConfig(port=0).admin_port_to_bind == 0
    assert ServerConfig(port=50051, admin_port=9000).admin_port_to_bind == 9000


def test_a_call_whose_token_is_due_within_the_hold_waits_and_is_admitted() -> None:
    clock, paused = Clock(), list[float]()

    def pause(seconds: float) -> None:
        paused.append(seconds)
        clock.now += seconds

    admission = RateAdmission(
        TokenBucket(rate=100, burst=100, clock=clock),
        {"/s/Reload": TokenBucket(rate=4, burst=1, clock=clock)},
        pause=pause,
    )
    context = Context()
    admission("/s/Reload", context)
    admission("/s/Reload", context)  # the next token is due in 0.25 s: held, then admitted
    assert paused == [0.25] and context.status is None

"""Rate limits for the administration listener: token buckets, excess refused with
RESOURCE_EXHAUSTED and a google.rpc.RetryInfo saying when to try again."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status


@dataclass(frozen=True, slots=True)
class AdminLimits:
    """How often the administration listener answers. An explicit reload is a full rebuild of
    the rule set (seconds of CPU), so it has its own, much slower bucket."""

    calls_per_second: float = 50.0  # status calls are cheap; this only stops floods of them
    burst: int = 50
    reload_every_seconds: float = 30.0
    reload_burst: int = 1


class TokenBucket:
    """`burst` tokens, refilled at `rate` per second; each admitted call takes one."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> float:
        """0.0 if a token was taken; otherwise the seconds until one will be there."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
            self._at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) / self._rate


class RateAdmission:
    """Admits a call when the listener's bucket and its method's bucket (if any) both have a
    token; a method's bucket is only drawn on once the listener's admitted the call.

    A call whose token is due within `hold_seconds` waits for it and is admitted. Any other
    refused call is answered only after `hold_seconds` (a tarpit): a client looping on refusals
    then makes about one call a second instead of thousands, each costing this process's
    interpreter time that patient calls need. The wait holds no lock and no CPU."""

    def __init__(
        self,
        listener: TokenBucket,
        methods: Mapping[str, TokenBucket],
        hold_seconds: float = 1.0,
        pause: Callable[[float], object] = time.sleep,
    ) -> None:
        self._listener = listener
        self._methods = dict(methods)
        self._hold = hold_seconds
        self._pause = pause

    @classmethod
    def for_admin(cls, limits: AdminLimits, reload_method: str) -> RateAdmission:
        return cls(
            TokenBucket(limits.calls_per_second, limits.burst),
            {reload_method: TokenBucket(1 / limits.reload_every_seconds, limits.reload_burst)},
        )

    def __call__(self, method: str, context: grpc.ServicerContext) -> None:
        for bucket in (self._listener, self._methods.get(method)):
            if bucket is None or not (wait := bucket.take()):
                continue
            if wait <= self._hold:
                # A token is due within the hold: wait for it and admit, rather than refuse.
                self._pause(wait)
                if not (wait := bucket.take()):
                    continue
                abort_exhausted(context, method, wait)
            held = min(wait, self._hold)
            self._pause(held)
            abort_exhausted(context, method, wait - held)


def abort_exhausted(context: grpc.ServicerContext, method: str, wait: float) -> None:
    """RESOURCE_EXHAUSTED with a RetryInfo of `wait` seconds (rounded up to milliseconds)."""
    millis = max(0, math.ceil(wait * 1000))
    detail = any_pb2.Any()
    detail.Pack(
        error_details_pb2.RetryInfo(
            retry_delay=duration_pb2.Duration(
                seconds=millis // 1000, nanos=(millis % 1000) * 1_000_000
            )
        )
    )
    status = status_pb2.Status(
        code=code_pb2.RESOURCE_EXHAUSTED,
        message=f"{method} rate limit: retry in {millis / 1000:.3f} s",
        details=[detail],
    )
    context.abort_with_status(rpc_status.to_status(status))

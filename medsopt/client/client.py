"""A client for medsopt.v1.MedicinesOptimisation: deadlines, bounded retries, request ids."""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import grpc

from medsopt.client.errors import MedsoptError, RequestIdMismatchError, from_rpc_error
from medsopt.client.model import (
    Answer,
    Medication,
    Patient,
    RuleSetInfo,
    answer_from_message,
    info_from_message,
    request_message,
    static_recommendations,
)
from medsopt.v1 import medsopt_pb2 as pb
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc

SERVICE = "medsopt.v1.MedicinesOptimisation"
REQUEST_ID_KEY = "x-request-id"
# A prescriber is waiting: an answer later than this is no use inside the prescribing click.
DEFAULT_DEADLINE_SECONDS = 2.0
DEFAULT_MAX_ATTEMPTS = 4  # gRPC caps attempts at 5


def service_config(max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> str:
    """gRPC service config: retry UNAVAILABLE only (both calls are reads, safe to repeat), with
    jittered exponential backoff, at most `max_attempts` attempts per call, all within the
    call's deadline; throttled per channel so a down service is not hammered by every caller."""
    return json.dumps(
        {
            "methodConfig": [
                {
                    "name": [{"service": SERVICE}],
                    "retryPolicy": {
                        "maxAttempts": max_attempts,
                        "initialBackoff": "0.1s",
                        "maxBackoff": "1s",
                        "backoffMultiplier": 2,
                        "retryableStatusCodes": ["UNAVAILABLE"],
                    },
                }
            ],
            "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1},
        }
    )


class MedsoptClient:
    """One channel to a medsopt server; use as a context manager or call `close()`.

    >>> with MedsoptClient("127.0.0.1:50051") as client:  # doctest: +SKIP
    ...     answer = client.check([Medication("m1", "319733000")], Patient(age_years=78))
    """

    def __init__(
        self,
        target: str,
        *,
        deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        credentials: grpc.ChannelCredentials | None = None,
        options: Sequence[tuple[str, str | int]] = (),
        keep_rule_content: bool = True,
    ) -> None:
        every = [
            ("grpc.enable_retries", 1),
            ("grpc.service_config", service_config(max_attempts)),
            # Reconnect soon after a restart, so retries within the deadline can reach it.
            ("grpc.initial_reconnect_backoff_ms", 200),
            ("grpc.max_reconnect_backoff_ms", 2000),
            ("grpc.keepalive_time_ms", 30_000),
            *options,
        ]
        self._channel = (
            grpc.secure_channel(target, credentials, options=every)
            if credentials is not None
            else grpc.insecure_channel(target, options=every)
        )
        self._stub = pb_grpc.MedicinesOptimisationStub(self._channel)
        self._deadline = deadline_seconds
        # (content hash, static recommendations) of the rule content this client keeps: named
        # in each check, so cards leave that text out (see CheckMedicationsRequest).
        self._keep_rule_content = keep_rule_content
        self._kept: tuple[str, Mapping[str, str]] = ("", {})
        self._unavailable_content = ""  # a hash whose content could not be read: not asked again

    def check(
        self,
        medications: Sequence[Medication],
        patient: Patient | None = None,
        *,
        request_id: str | None = None,
        as_of: datetime.date | None = None,
        proposed_only: bool = False,
        deadline_seconds: float | None = None,
    ) -> Answer:
        """Check one patient's medicines; raises a MedsoptError subclass when there is no answer.

        The first answer from a rule set the client does not keep is followed by one
        GetRuleContent call (kept, and named in later checks so their cards are smaller)."""
        request_id = request_id or uuid.uuid4().hex
        message = request_message(
            tuple(medications), patient or Patient(), request_id, as_of, proposed_only
        )
        kept_hash, kept = self._kept  # one read: another thread may replace it meanwhile
        message.rule_content_hash = kept_hash
        response: pb.CheckMedicationsResponse = self._call(
            self._stub.CheckMedications, message, request_id, deadline_seconds
        )
        answer = answer_from_message(response, kept)
        answered_by = response.rule_set.content_hash
        if self._keep_rule_content and answered_by not in (kept_hash, self._unavailable_content):
            self._refresh_rule_content(answered_by)
        return answer

    def rule_content(
        self, content_hash: str = "", *, deadline_seconds: float | None = None
    ) -> pb.RuleSetContent:
        """Every active rule's static content (title, rationale, citations, recommendation)."""
        request_id = uuid.uuid4().hex
        content: pb.RuleSetContent = self._call(
            self._stub.GetRuleContent,
            pb.GetRuleContentRequest(content_hash=content_hash),
            request_id,
            deadline_seconds,
        )
        return content

    def _refresh_rule_content(self, content_hash: str) -> None:
        """Keep the content of the rule set that answered; on failure keep none (every card
        then carries its full text) and do not ask again until another rule set answers."""
        try:
            content = self.rule_content(content_hash)
        except MedsoptError:
            self._kept, self._unavailable_content = ("", {}), content_hash
            return
        self._kept = (content.identity.content_hash, static_recommendations(content))

    def rule_set_info(self, *, deadline_seconds: float | None = None) -> RuleSetInfo:
        """The active rule set: identity, rule count, when it was loaded."""
        request_id = uuid.uuid4().hex
        info: pb.RuleSetInfo = self._call(
            self._stub.GetRuleSetInfo, pb.GetRuleSetInfoRequest(), request_id, deadline_seconds
        )
        return info_from_message(info)

    def _call(
        self,
        method: grpc.UnaryUnaryMultiCallable,
        message: object,
        request_id: str,
        deadline_seconds: float | None,
    ) -> Any:  # the method's response message; the generated stubs are untyped
        try:
            response, call = method.with_call(
                message,
                timeout=deadline_seconds or self._deadline,
                metadata=((REQUEST_ID_KEY, request_id),),
            )
        except grpc.RpcError as error:
            raise from_rpc_error(error, request_id) from None
        echoed = dict(call.trailing_metadata() or ()).get(REQUEST_ID_KEY)
        if echoed != request_id:
            raise RequestIdMismatchError(request_id, echoed)
        return response

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> MedsoptClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


__all__ = ["MedsoptClient", "MedsoptError", "service_config"]

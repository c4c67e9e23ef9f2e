"""A server interceptor that runs an admission check before a method's own code.

The check runs in the worker thread that serves the call (not in grpc's polling thread, where
interceptors themselves run), so a slow signature check never holds up other calls; it refuses a
call by aborting its context."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from medsopt.audit.caller import authenticated_as

# (full method name "/package.Service/Method", the call's context) -> the authenticated subject
# (or None), or abort the call.
Admit = Callable[[str, grpc.ServicerContext], str | None]

_BEHAVIOURS = ("unary_unary", "unary_stream", "stream_unary", "stream_stream")


def guarded(handler: Any, method: str, admit: Admit) -> Any:
    """`handler` (a grpc.RpcMethodHandler) whose behaviour first calls `admit`."""
    for kind in _BEHAVIOURS:
        behaviour = getattr(handler, kind)
        if behaviour is not None:
            break
    else:  # pragma: no cover - grpc always sets one
        return handler

    def admitted(request: Any, context: grpc.ServicerContext) -> Any:
        subject = admit(method, context)
        if subject is None:
            return behaviour(request, context)
        with authenticated_as(subject):  # the audit records who asked (medsopt.audit.caller)
            return behaviour(request, context)

    return handler._replace(**{kind: admitted})


class GuardInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    """Applies `admit` to every method of every service except the `open` ones."""

    def __init__(self, admit: Admit, open_services: frozenset[str] = frozenset()) -> None:
        self._admit = admit
        self._open = open_services

    def intercept_service(
        self, continuation: Callable[[Any], Any], handler_call_details: Any
    ) -> Any:
        handler = continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or service_of(method) in self._open:
            return handler
        return guarded(handler, method, self._admit)


def service_of(method: str) -> str:
    """'medsopt.v1.RuleSetAdmin' of '/medsopt.v1.RuleSetAdmin/ReloadRuleSet'."""
    return method.lstrip("/").partition("/")[0]

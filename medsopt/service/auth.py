"""Token admission: a call carries `authorization: Bearer <JWT>` with the scope of its service."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

import grpc

from medsopt.service.guard import service_of
from medsopt.service.tokens import TokenRejectedError, TokenVerifier

log = logging.getLogger(__name__)


def bearer_token(metadata: Iterable[tuple[str, str | bytes]] | None) -> str | None:
    """The token of the first `authorization: Bearer ...` header, if any."""
    for key, value in metadata or ():
        if key.lower() == "authorization" and isinstance(value, str):
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


class TokenAdmission:
    """Admits a call whose token verifies and holds its service's scope.

    A service without a scope of its own (server reflection) admits any token holding one of
    the scopes: it describes the API to authenticated clients only.
    """

    def __init__(self, verifier: TokenVerifier, scopes: Mapping[str, str]) -> None:
        self._verifier = verifier
        self._scopes = dict(scopes)
        self._any = frozenset(scopes.values())

    def __call__(self, method: str, context: grpc.ServicerContext) -> str | None:
        """The verified token's subject; aborts the call otherwise."""
        token = bearer_token(context.invocation_metadata())
        if token is None:
            self._refuse(context, method, grpc.StatusCode.UNAUTHENTICATED, "missing bearer token")
            return None
        try:
            caller = self._verifier.verify(token)
        except TokenRejectedError as rejected:
            self._refuse(context, method, grpc.StatusCode.UNAUTHENTICATED, rejected.reason)
            return None
        required = self._scopes.get(service_of(method))
        allowed = frozenset((required,)) if required else self._any
        if not caller.scopes & allowed:
            wanted = " or ".join(sorted(allowed))
            self._refuse(
                context, method, grpc.StatusCode.PERMISSION_DENIED, f"token lacks scope {wanted}"
            )
        return caller.subject or None

    @staticmethod
    def _refuse(
        context: grpc.ServicerContext, method: str, code: grpc.StatusCode, reason: str
    ) -> None:
        log.info("refused %s: %s", method, reason)  # the reason names no token or patient data
        context.abort(code, reason)

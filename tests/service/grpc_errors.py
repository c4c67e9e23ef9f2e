"""Reading a gRPC error as a client does: the google.rpc.BadRequest field violations."""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


def bad_request(error: grpc.RpcError) -> dict[str, str]:
    """Field path -> description of every violation in the error's BadRequest details."""
    status = rpc_status.from_call(error)
    assert status is not None
    found: dict[str, str] = {}
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            found.update({v.field: v.description for v in bad.field_violations})
    assert found, "no BadRequest detail"
    return found

"""Server reflection as `grpc.reflection.v1` and `v1alpha`.

grpcio-reflection 1.85 serves only v1alpha; current tools (grpcurl, `buf curl`) ask for v1 first.
The two protocols are the same messages under another package name, so the v1alpha servicer
answers both, and the v1 file is added to the descriptor pool (renamed from v1alpha's) so the
reflection service can describe itself under either name.
"""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection, reflection_pb2

V1_SERVICE_NAME = "grpc.reflection.v1.ServerReflection"
_V1ALPHA_PACKAGE = "grpc.reflection.v1alpha"
_V1_PACKAGE = "grpc.reflection.v1"


def _add_v1_file() -> None:
    pool = descriptor_pool.Default()
    try:
        pool.FindServiceByName(V1_SERVICE_NAME)
        return  # already there (another server in this process)
    except KeyError:
        pass
    renamed = descriptor_pb2.FileDescriptorProto.FromString(reflection_pb2.DESCRIPTOR.serialized_pb)
    renamed.name = "grpc/reflection/v1/reflection.proto"
    renamed.package = _V1_PACKAGE
    renamed.ClearField("options")
    old, new = f".{_V1ALPHA_PACKAGE}.", f".{_V1_PACKAGE}."
    for message in renamed.message_type:
        for message_field in message.field:
            if message_field.type_name:  # scalars have none; setting "" would mark it present
                message_field.type_name = message_field.type_name.replace(old, new)
    for service in renamed.service:
        for method in service.method:
            method.input_type = method.input_type.replace(old, new)
            method.output_type = method.output_type.replace(old, new)
    pool.Add(renamed)


def enable_reflection(service_names: Iterable[str], server: grpc.Server) -> None:
    """Serve reflection (both versions) listing `service_names` and the reflection services."""
    _add_v1_file()
    names = (*service_names, reflection.SERVICE_NAME, V1_SERVICE_NAME)
    servicer = reflection.ReflectionServicer(names)
    reflection.enable_server_reflection(names, server)
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(V1_SERVICE_NAME, {"ServerReflectionInfo": handler}),)
    )

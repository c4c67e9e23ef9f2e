"""Regenerate the protobuf and gRPC stubs in medsopt/v1 from protos/ (run via `make proto`)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"


def generate(out_dir: Path) -> list[Path]:
    """Compile every .proto under protos/ into out_dir; return the files written."""
    from grpc_tools import protoc  # dev-only dependency

    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))
    include = Path(protoc.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    stems = [out_dir / Path(proto).with_suffix("") for proto in protos]
    written = [
        stem.with_name(stem.name + suffix)
        for stem in stems
        for suffix in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")
    ]
    for package_dir in {path.parent for path in written}:
        (package_dir / "__init__.py").touch()
    return written


if __name__ == "__main__":
    for path in generate(ROOT):
        print(path.relative_to(ROOT), file=sys.stderr)

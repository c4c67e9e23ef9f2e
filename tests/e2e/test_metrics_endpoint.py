"""One server process with /metrics on: the counters it serves, and the README's `buf curl`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from medsopt.v1 import medsopt_pb2 as pb
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc
from tests.e2e.server_process import ServerProcess, start_server
from tests.e2e.test_workers import metrics, total

pytestmark = pytest.mark.e2e
CHECK = 'grpc_method="CheckMedications"'


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    running = start_server("--workers", "1", "--no-watch", "--metrics-port", "0")
    yield running
    running.stop()


def test_metrics_count_calls_by_status_findings_and_the_rule_set(server: ServerProcess) -> None:
    before = metrics(server)
    good = pb.CheckMedicationsRequest(
        patient=pb.PatientContext(age_years=78, egfr=40),
        medications=[
            pb.Medication(ref="w", code="319733000"),
            pb.Medication(ref="n", code="329806007"),
        ],
    )
    bad = pb.CheckMedicationsRequest(medications=[pb.Medication(ref="w", code="319733001")])
    with grpc.insecure_channel(server.target) as channel:
        stub = pb_grpc.MedicinesOptimisationStub(channel)
        findings = sum(len(stub.CheckMedications(good, timeout=10).findings) for _ in range(3))
        with pytest.raises(grpc.RpcError):
            stub.CheckMedications(bad, timeout=10)
    after = metrics(server)

    def grew(*labels: str) -> float:
        return total(after, *labels) - total(before, *labels)

    assert grew("medsopt_grpc_server_handled_total", CHECK, '"OK"') == 3
    assert grew("medsopt_grpc_server_handled_total", CHECK, '"INVALID_ARGUMENT"') == 1
    assert grew("medsopt_grpc_server_handling_seconds_count", CHECK) == 4
    assert grew("medsopt_findings_total") == findings
    assert total(after, "medsopt_rule_set_active{") == 1
    assert total(after, "medsopt_rule_set_last_reload_success") == 1


def buf() -> str:
    found = shutil.which("buf") or str(Path(sys.executable).parent / "buf")
    if not Path(found).exists():
        pytest.skip("buf not installed (PyPI buf-bin, in the dev extra)")
    return found


def test_the_readme_buf_curl_command_works(server: ServerProcess) -> None:
    """The command README.md documents, run as written (reflection v1, JSON in and out)."""
    data = json.dumps(
        {
            "patient": {"age_years": 78, "egfr": 40},
            "medications": [{"ref": "w", "code": "319733000"}, {"ref": "n", "code": "329806007"}],
        }
    )
    result = subprocess.run(
        [
            buf(),
            "curl",
            "--protocol",
            "grpc",
            "--http2-prior-knowledge",
            "--data",
            data,
            f"http://{server.target}/medsopt.v1.MedicinesOptimisation/CheckMedications",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert "PINCER-D" in {f["ruleId"] for f in answer["findings"]}

# The two commands that matter on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 50051

.PHONY: serve test proto schemas dmd-extract bench bench-grpc bench-dmd bench-scan clean

$(BIN)/medsopt: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	@touch $@

## Set up (if needed) and serve the bundled rules and formulary on $(PORT).
serve: $(BIN)/medsopt
	$(BIN)/medsopt serve --port $(PORT)

## Set up (if needed) and run lint, type checks and the whole test suite.
test: $(BIN)/medsopt
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy medsopt tests benchmarks scripts
	$(BIN)/bandit -c pyproject.toml -q -r medsopt scripts
	$(BIN)/python scripts/audit_dependencies.py
	$(BIN)/pytest

## Regenerate the protobuf/gRPC stubs in medsopt/v1 from protos/.
proto: $(BIN)/medsopt
	$(BIN)/python scripts/generate_protos.py

## Regenerate the JSON Schemas for rule and test files from the pydantic models.
schemas: $(BIN)/medsopt
	$(BIN)/python scripts/generate_schemas.py

## Rebuild the bundled dm+d extract in formulary/dmd/ from formulary/dmd/sources/.
dmd-extract: $(BIN)/medsopt
	$(BIN)/python scripts/build_bundled_dmd.py

bench: $(BIN)/medsopt
	$(BIN)/python benchmarks/bench_point_of_care.py

## medsopt over gRPC (1 and 2 workers) against a no-op server: latency, h2load throughput.
bench-grpc: $(BIN)/medsopt
	$(BIN)/python -m benchmarks.grpc_load

## PDC over 100k and 1M synthetic patients: medsopt vs DuckDB vs pandas, and the full scan.
bench-scan: $(BIN)/medsopt
	$(BIN)/python benchmarks/bench_scan.py

## Import time and load time of a full-size synthetic dm+d release.
bench-dmd: $(BIN)/medsopt
	$(BIN)/python benchmarks/bench_dmd_import.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache

"""Write JSON Schemas for committee files (schemas/*.json), so editors validate as you type.

Rule and test YAML files name their schema in a first-line comment,
`# yaml-language-server: $schema=../schemas/rule-file.schema.json`. Run via `make schemas`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from medsopt.formulary.adherence import AdherenceFile
from medsopt.formulary.biosimilars import BiosimilarFile
from medsopt.formulary.models import FormularyFile
from medsopt.rules.cases import TestFile
from medsopt.rules.rule_file import RuleFile

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS: dict[str, type[BaseModel]] = {
    "rule-file.schema.json": RuleFile,
    "test-file.schema.json": TestFile,
    "formulary-file.schema.json": FormularyFile,
    "biosimilar-file.schema.json": BiosimilarFile,
    "adherence-file.schema.json": AdherenceFile,
}


def render(model: type[BaseModel]) -> str:
    """The schema text for one model, stable across runs."""
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main() -> int:
    out = ROOT / "schemas"
    out.mkdir(exist_ok=True)
    for name, model in SCHEMAS.items():
        (out / name).write_text(render(model))
        print(f"wrote schemas/{name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

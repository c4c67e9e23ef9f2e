"""Committee authoring toolkit shared by the formulary and rule formats.

YAML with source positions, pydantic validation mapped to file:line:column diagnostics with
hints, and `code,term` codelists. Pure: callers hand in file texts.
"""

"""The committee rule format: file schema, source positions, diagnostics, compilation to a RuleSet.

Pure: callers hand in file texts; nothing here reads the file system.
"""

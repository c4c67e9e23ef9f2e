"""The committee rule format: file schema and compilation to an indexed RuleSet, and its holder.

Pure: callers hand in file texts; nothing here reads the file system.
"""

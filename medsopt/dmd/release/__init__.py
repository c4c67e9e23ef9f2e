"""NHSBSA dm+d releases: XML records (pure), the extract's tables (pure), and the one module
that reads and writes files."""

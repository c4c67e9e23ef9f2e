"""What a person reads: HTML pages from templates (autoescaped), charts, text tables.

Each page module turns domain objects into plain data (strings, numbers, small frozen records)
and hands them to one template; markup lives only in `templates/`, and every value is escaped
there by the environment in `render.py`.
"""

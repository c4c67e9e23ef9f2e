"""Population scans: polars LazyFrames in, LazyFrames out (no file I/O, no per-row Python).

Adherence (PDC), the point-of-care rule set evaluated columnar, ranked worklists. The I/O around
them is `medsopt.scan.files`, the page a person reads is `medsopt.reports.scan`; the
command is `medsopt scan` (docs/scan.md).
"""

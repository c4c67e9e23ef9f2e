"""Population scans: polars LazyFrames in, LazyFrames out (no file I/O, no per-row Python).

Adherence (PDC), the point-of-care rule set evaluated columnar, ranked worklists. The I/O around
them is `medsopt.loading.scan_files` and `medsopt.loading.scan_report`; the command is
`medsopt scan` (docs/scan.md).
"""

"""Population analytics: outcome indicators, biosimilar uptake and savings, practices compared
month by month. Pure polars over clean frames; the scan package reads and writes the files."""

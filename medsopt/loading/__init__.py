"""Reading committee files and the dm+d extract from disk; the pure packages never do."""

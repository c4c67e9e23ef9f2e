"""The local formulary: product statuses, lines and tiers, preferred alternatives per class.

Pure: callers hand in file texts and a dm+d index.
"""

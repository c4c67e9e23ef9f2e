"""dm+d vocabulary: SNOMED CT code checks, VTM/VMP/AMP concepts and the index that resolves codes.

Knows nothing of rules or formularies; performs no I/O.
"""

"""The rule-set store: read committee files and the dm+d extract from disk, publish a rule set
(its manifest of file hashes), and build aside, verify, activate and reload only published sets."""

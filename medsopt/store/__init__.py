"""The rule-set store: read committee files and the dm+d extract from disk, build a rule set
aside (compile, committee tests), activate it, and reload it when its files change."""

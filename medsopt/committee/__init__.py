"""Committee test cases: parse rules/tests/*.yaml and run them through the engine."""

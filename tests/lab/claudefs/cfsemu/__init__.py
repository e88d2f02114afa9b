"""cfsemu: the ClaudeFS emulator (node agent, supervisor, fault injection) for the tests."""

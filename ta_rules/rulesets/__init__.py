"""Ruleset files: loading with positions, the file schema, the compiler, the registry."""

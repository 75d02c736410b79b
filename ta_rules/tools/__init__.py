"""Policy-writer tools over compiled rulesets: ``check`` (with engines), ``diff``, ``messages``.

They sit above :mod:`ta_rules.rulesets` in the layering: they may evaluate claims and ask
engines, which the compiler and the registry never do.
"""

"""The public API: __all__ sorted and importable, nothing private leaks."""

from __future__ import annotations

import ta_rules


def test_all_is_sorted_importable_and_public() -> None:
    assert ta_rules.__all__ == sorted(ta_rules.__all__)
    for name in ta_rules.__all__:
        assert hasattr(ta_rules, name), name
        assert not name.startswith("_") or name == "__version__"
    public = {n for n in vars(ta_rules) if n.isidentifier() and not n.startswith("_")}
    submodules = {"errors", "evaluate", "facts", "money", "rulesets", "verdict", "engines",
                  "messages", "testing", "schema_export", "cli", "batch", "audit", "tools",
                  "request", "serve", "project", "vocabulary", "impact", "verify", "build",
                  "present", "texts", "store", "refs", "decisionlog", "diagnostic_codes",
                      "lsp", "studio"}
    assert public - submodules <= set(ta_rules.__all__)


def test_docstrings_on_public_api() -> None:
    for name in ta_rules.__all__:
        obj = getattr(ta_rules, name)
        if callable(obj):
            assert obj.__doc__, name

# Test collection for the whole checkout: ta_rules/__main__.py runs the CLI when imported,
# and ta_rules/serve needs the serve extra (its tests skip without it).
import importlib.util

pytest_plugins = ["pytester"]
collect_ignore = ["ta_rules/__main__.py", "bench"]
if not all(importlib.util.find_spec(m) for m in ("fastapi", "uvicorn")):
    collect_ignore.append("ta_rules/serve")

# The compile cache (ta_rules/rulesets/cache.py) is off for the suite: many tests replace
# parts of the compiler at run time, which a cached ruleset would step around, and a test
# run must not write into the user's cache folder. tests/test_compile_cache.py turns it on
# in a temporary folder.
import os  # noqa: E402

os.environ["TA_RULES_CACHE"] = "off"

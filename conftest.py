# Test collection for the whole checkout: ta_rules/__main__.py runs the CLI when imported,
# ta_rules/serve needs the serve extra and ta_rules/lsp the lsp extra (their tests skip
# without them).
import atexit
import importlib.util
import os
import shutil
import tempfile

# every ruleset loaded keeps its texts in a policy store (ta_rules.store): the suite keeps
# them in a store of its own, not in the checkout's or the user's
if "TA_RULES_STORE" not in os.environ:
    _store = tempfile.mkdtemp(prefix="ta-rules-test-store-")
    os.environ["TA_RULES_STORE"] = _store
    atexit.register(shutil.rmtree, _store, True)

pytest_plugins = ["pytester"]
collect_ignore = ["ta_rules/__main__.py", "bench"]
if not all(importlib.util.find_spec(m) for m in ("fastapi", "uvicorn")):
    collect_ignore.append("ta_rules/serve")
if not all(importlib.util.find_spec(m) for m in ("pygls", "lsprotocol")):
    collect_ignore.append("ta_rules/lsp")

# The compile cache (ta_rules/rulesets/cache.py) is opt-in and stays off for the suite:
# many tests replace parts of the compiler at run time, which a cached ruleset would step
# around. tests/test_compile_cache.py turns it on in a temporary folder.
os.environ.pop("TA_RULES_CACHE", None)

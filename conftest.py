# Test collection for the whole checkout: ta_rules/__main__.py runs the CLI when imported,
# ta_rules/serve needs the serve extra and ta_rules/lsp the lsp extra (their tests skip
# without them).
import importlib.util

pytest_plugins = ["pytester"]
collect_ignore = ["ta_rules/__main__.py", "bench"]
if not all(importlib.util.find_spec(m) for m in ("fastapi", "uvicorn")):
    collect_ignore.append("ta_rules/serve")
if not all(importlib.util.find_spec(m) for m in ("pygls", "lsprotocol")):
    collect_ignore.append("ta_rules/lsp")

# Test collection for the whole checkout: ta_rules/__main__.py runs the CLI when imported.
pytest_plugins = ["pytester"]
collect_ignore = ["ta_rules/__main__.py", "bench"]

"""``python -m ta_rules``: the command line."""

from ta_rules.cli import console_main

console_main()

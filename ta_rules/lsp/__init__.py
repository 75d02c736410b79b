"""``ta-rules lsp``: a language server for rule files, vocabularies, properties and scenarios.

It speaks the Language Server Protocol over stdin and stdout (``pip install
'ta-rules[lsp]'``, which brings pygls). Every answer comes from the library: diagnostics
are those of ``ta-rules check`` (and of the scenario reader), at their line and column;
completion, hover and go-to-definition read the names a file declares
(:mod:`ta_rules.rulesets.symbols`) and the facts vocabulary; a code lens on each scenario
runs it (:func:`ta_rules.testing.scenarios.run_scenario`). Setting it up in editors:
``docs/editors.md``.
"""

from __future__ import annotations

import logging
from typing import BinaryIO

__all__ = ["serve_stdio"]


def serve_stdio(stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> int:
    """Serve one editor over stdin and stdout until it says exit; the exit status."""
    from ta_rules.lsp._server import build_server

    logging.basicConfig(level=logging.WARNING, format="ta-rules lsp: %(message)s")
    # a message pygls cannot read is reported in one line by the server, not as a traceback
    logging.getLogger("pygls").setLevel(logging.CRITICAL)
    server = build_server()
    server.start_io(stdin, stdout)
    return 0

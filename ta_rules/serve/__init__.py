"""``ta-rules serve``: verdicts over HTTP, the same bytes as ``ta-rules eval --format json``.

Needs the ``serve`` extra (FastAPI and uvicorn). See ``docs/serve.md``.

Example:
    >>> from ta_rules.rulesets.registry import default_registry
    >>> app = create_app(Service(default_registry()))
    >>> "/v1/evaluate" in app.openapi()["paths"]
    True
"""

from ta_rules.serve._app import Limits, Service, create_app
from ta_rules.serve._run import serve

__all__ = ["Limits", "Service", "create_app", "serve"]

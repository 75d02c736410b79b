"""``ta-rules studio``: a local workbench in the browser over the project's rules folder.

The rule files in a code editor with ``check``'s diagnostics as one types, saving back to
the file; a claim judged with its trace highlighted in the source; why-not with the
proposed changes applied on click; the diff against a base with the scenarios whose
verdict changes; the project's scenarios; the impact report over a history. Every action
is the library call of the matching command. It needs the ``serve`` extra.
"""

from ta_rules.studio._app import StudioError, Workbench, create_app
from ta_rules.studio._run import studio, workbench

__all__ = ["StudioError", "Workbench", "create_app", "studio", "workbench"]

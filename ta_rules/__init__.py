"""ta-rules: decide Trade Assurance claims from versioned YAML rulesets.

Example:
    >>> import ta_rules
    >>> reg = ta_rules.default_registry()
    >>> [r.version for r in reg.versions("trade-assurance")]
    ['2015.1', '2017.12']
"""

from ta_rules._version import __version__
from ta_rules.audit import ReplayReport, replay
from ta_rules.decisionlog import DecisionLog, DecisionLogError, DecisionRecord
from ta_rules.errors import (
    Diagnostic,
    EngineError,
    EngineUnavailableError,
    EvaluationError,
    FactProblem,
    FactsError,
    Location,
    ParameterError,
    RulesetError,
    ScenarioError,
    TaRulesError,
    UnknownRulesetError,
)
from ta_rules.evaluate import evaluate, evaluate_many, explain
from ta_rules.facts import Facts, parse_facts
from ta_rules.money import CurrencyMismatchError, Money
from ta_rules.rulesets.compile import Ruleset, compile_ruleset
from ta_rules.rulesets.load import load_ruleset, load_ruleset_spec, loads_ruleset
from ta_rules.rulesets.program import Decision, Program
from ta_rules.rulesets.registry import Registry, default_registry
from ta_rules.rulesets.schema import RulesetSpec
from ta_rules.verdict import Reason, RulesetRef, TraceEntry, Verdict
from ta_rules.verify import counterfactual

__all__ = [
    "CurrencyMismatchError",
    "Decision",
    "DecisionLog",
    "DecisionLogError",
    "DecisionRecord",
    "Diagnostic",
    "EngineError",
    "EngineUnavailableError",
    "EvaluationError",
    "FactProblem",
    "Facts",
    "FactsError",
    "Location",
    "Money",
    "ParameterError",
    "Program",
    "Reason",
    "Registry",
    "ReplayReport",
    "Ruleset",
    "RulesetError",
    "RulesetRef",
    "RulesetSpec",
    "ScenarioError",
    "TaRulesError",
    "TraceEntry",
    "UnknownRulesetError",
    "Verdict",
    "__version__",
    "compile_ruleset",
    "counterfactual",
    "default_registry",
    "evaluate",
    "evaluate_many",
    "explain",
    "load_ruleset",
    "load_ruleset_spec",
    "loads_ruleset",
    "parse_facts",
    "replay",
]

from __future__ import annotations

import copy
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SHARED_EXAMPLES = ROOT.parent / "shared" / "spec" / "examples"
EXAMPLES = ROOT / "examples"


def rules_text(version: str = "2015.1") -> str:
    return (files("ta_rules") / "rules" / f"trade-assurance-{version}.yaml").read_text("utf-8")


def base_facts() -> dict[str, Any]:
    """A covered late-shipment claim of 5,000 USD (order placed 2015), to vary in tests."""
    return {
        "as_of": "2015-03-09",
        "contract": {
            "confirmed_on": "2015-01-20",
            "category": "consumer_electronics",
            "order_amount": {"amount": "5000.00", "currency": "USD"},
            "ship_by": "2015-03-01",
            "quality_safeguard": False,
            "quality_requirements": [],
        },
        "supplier": {
            "participating": True,
            "ta_limit": {"amount": "20000.00", "currency": "USD"},
        },
        "payments": [
            {
                "role": "initial",
                "method": "TT",
                "to_platform_account": True,
                "payer_name_entered": True,
                "amount": {"amount": "5000.00", "currency": "USD"},
                "received_on": "2015-01-23",
            }
        ],
        "shipment": {"shipped_on": "2015-03-02"},
        "inspection": None,
        "claim": {
            "grounds": ["late_shipment"],
            "submitted_on": "2015-03-03",
            "determination_requested_on": "2015-03-09",
        },
    }


@pytest.fixture
def facts() -> dict[str, Any]:
    return base_facts()


@pytest.fixture
def make_facts() -> Callable[..., dict[str, Any]]:
    def make(**changes: Any) -> dict[str, Any]:
        data = copy.deepcopy(base_facts())
        for dotted, value in changes.items():
            parts = dotted.split("__")
            target = data
            for p in parts[:-1]:
                target = target[int(p)] if p.isdigit() else target[p]
            target[parts[-1]] = value
        return data

    return make


@pytest.fixture(scope="session")
def shared_examples() -> list[Path]:
    if not SHARED_EXAMPLES.is_dir():
        pytest.skip("../shared/spec/examples is not present beside this checkout")
    return sorted(SHARED_EXAMPLES.glob("*.yaml"))


def load_yaml_file(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


# A fixed profile, so CI runs the same examples every time (HYPOTHESIS_PROFILE=dev to explore).
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("ci", max_examples=150, derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow], database=None)
settings.register_profile("dev", max_examples=1000, deadline=None)
settings.load_profile(__import__("os").environ.get("HYPOTHESIS_PROFILE", "ci"))

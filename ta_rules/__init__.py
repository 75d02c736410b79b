"""ta-rules: decide Trade Assurance claims from versioned YAML rulesets."""

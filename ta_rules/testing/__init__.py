"""Scenario fixtures for QA: the model, the loader, the runner and a pytest plugin."""

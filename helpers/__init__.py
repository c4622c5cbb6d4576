"""Tested helpers behind the runbook notebooks: one module per AWS concern."""

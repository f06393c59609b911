"""Organiser accounts, roles, unit scoping, API tokens and the audit log."""

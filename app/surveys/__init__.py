"""Citizen satisfaction surveys: instruments, the counter form, responses."""

"""Citizen satisfaction surveys: instruments (YAML files in surveys/, checked and published as versions), the
citizen's form behind a counter's QR code (blueprint ``surveys``: /s/<token>, /d/<token>), responses stored on the
hot path, raw response exports, and `flask instruments`, `flask export responses`.

May import: the shared modules of app/, app.stats (the aggregation rules) and units (counters, tokens, QR codes);
never another feature's views. Imported by organiser and api (responses and instruments they report on).
"""

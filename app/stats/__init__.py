"""Pure statistics on numpy arrays: satisfaction indices and their intervals, comparisons and rankings, item
statistics, reliability, weighting, review flags. Each function documents its formula, its missing-value rule and
its source.

May import: numpy and scipy only; nothing from the rest of the app, nor Flask or SQLAlchemy.
"""

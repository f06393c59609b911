"""Pure statistics on numpy arrays: no Flask, no SQLAlchemy, no imports from the rest of the app."""

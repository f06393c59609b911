"""Organiser accounts and roles, signing in (blueprint ``auth`` under /quan-tri: login, accounts, the audit page),
what the signed-in organiser may see (``access``: their unit's subtree, checked on the server), and the audit log
every feature writes to (``audit.record`` with a required actor: an organiser, the command line or a visitor);
`flask create-organiser`.

May import: the shared modules of app/ and units (models and lookups: accounts are scoped by unit). Imported by
every feature that checks access or records audit entries; never another feature's views.
"""

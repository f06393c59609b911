"""JSON API v1 for one-stop systems and dashboards (blueprint ``api`` under /api/v1): bearer tokens scoped to a
unit's subtree; units, counters, dossier links, the SIPAS report, and the OpenAPI document; `flask api-tokens`.

May import: the shared modules of app/, units, surveys and organiser's report services; never their views.
Nothing imports it but create_app and the command line.
"""

"""JSON API v1 for one-stop systems and dashboards: bearer tokens scoped to a unit, described by OpenAPI."""

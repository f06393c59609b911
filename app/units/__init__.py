"""Administrative units (province → department or commune → …), the service fields (lĩnh vực) citizens name, and
the one-stop counters with their survey tokens, QR codes and posters; and the organiser pages that manage them
(blueprint ``units`` under /quan-tri: /don-vi, /quay, /linh-vuc, table imports, poster and QR downloads).

models (Unit with the tenancy predicate ``Unit.is_within``, ServiceField, Counter), tokens (counter tokens and
nonces), qr, posters, services (lookups in an organiser's subtree, changes recorded in the audit log), imports,
forms, views, cli (`flask units`, `flask counters`, `flask qr`).

May import: the shared modules of app/ and auth (access checks, the audit log; auth in turn reads units.models,
the tenancy it scopes by). Never surveys, contests, organiser or api: the instruments a counter may serve are
handed to the blueprint by create_app.
"""

"""CCHC knowledge contests, one module per aggregate: banks (question banks and their imports), spec (the contest
definition, its pydantic checker and the cached parse of a stored contest), lifecycle (contests, rounds, status),
participants (registration, accounts, personal data), attempts (drawing, saving, submitting, grading), results
and reports (rankings, prizes, exports), certificates; draw and grading are pure rules. Two blueprints: ``contests``
(participants, /thi) and ``contest_admin`` (organisers, /quan-tri/cuoc-thi, in manage.py); `flask contests`,
`flask questions`, `flask report contest`, `flask export attempts`.

May import: the shared modules of app/, app.stats (ranking, item statistics), auth (access, audit) and units
(the organising unit, QR codes); never another feature's views. Nothing else in the app imports it but create_app,
the command line and the demo and synthetic data.
"""

"""What organisers read under /quan-tri (blueprint ``organiser``): the dashboard and periodic SIPAS reports
(aggregates: the packed responses and their fold; cells: sufficient statistics per unit × month × field; reports:
load, compute, present; charts; PDF/XLSX files), citizens' comments and raw response exports, and the navigation
of the organiser area; `flask report`.

May import: the shared modules of app/, app.stats, and the features it reads (units, surveys, auth, feedback: its
figures); never their views. Its views also show the period's document and the contests held, from app.documents
(which reads the reports service here, never these views). Imported by create_app, the command line, and the JSON
API (the report service).
"""

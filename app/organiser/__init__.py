"""What organisers read under /quan-tri: the dashboard and periodic SIPAS reports (aggregates, statistics, charts,
PDF/XLSX files), citizens' comments and raw response exports, and the navigation of the organiser area.

May import: the shared modules of app/, app.stats, and the features it reads (units, surveys, auth); never their
views. Nothing imports it but create_app and the command line.
"""

"""The periodic report as an official document (Decree 30/2020/NĐ-CP, Appendix I): what a unit's CCHC officer files
for a quarter, a half-year or a year. ``periodic`` gathers the period's work (satisfaction at the counters and per
dossier from app.organiser.reports, contests held from app.contests.results, feedback when app.feedback provides
``feedback_figures``) into plain sentences and tables; ``docx`` writes it as an editable Word file and ``pdf`` turns
that file into a PDF (LibreOffice, or fpdf2 where LibreOffice is absent); ``models`` keeps each unit's letterhead and
signature settings; `flask report periodic`; the settings form and the downloads under /quan-tri/van-ban.

May import: the shared modules of app/, the services of organiser (reports), contests (results, models), units and
auth (access, audit); never their views. Imported by create_app, the command line and the organiser's report page.
"""

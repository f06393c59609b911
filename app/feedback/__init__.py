"""Feedback and recommendations (phản ánh, kiến nghị, PAKN) under NĐ 20/2008: the citizen's form (/phan-anh/gui),
the tracking page (/phan-anh/tra-cuu), the published list (/phan-anh), the agency inbox (/quan-tri/phan-anh), the
working-day calendar with its holidays, deadlines, the state machine, answers with moderation and publication, the
mail outbox, figures per unit and period (indicator 8), and `flask feedback`, `flask holidays`, `flask report
feedback`.

models (Feedback, SenderIdentity kept apart, attachments, transitions, answers, templates, holidays, deadlines,
outbox), calendar (working days), attachments (content checks, metadata stripped), services (every change, audited),
figures (``feedback_figures(unit, period, now)``: plain values), mail (outbox drain over SMTP), views (blueprint
``feedback``: citizen and public pages), manage (blueprint ``feedback_admin`` under /quan-tri/phan-anh), cli.

May import: the shared modules of app/, units (units, counters, service fields) and auth (access checks, audit log).
Never surveys, contests, organiser or api (api and organiser import this package's services and figures).
"""

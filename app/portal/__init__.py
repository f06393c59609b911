"""The public face of a province (blueprints ``portal`` and ``portal_admin``): the home page ``/``, the contest list
``/thi``, published satisfaction results ``/ket-qua…``, the embeddable card ``/nhung/ket-qua/<unit>``, share images
(``/anh/…``), robots.txt and sitemap.xml; the organiser's publish/withdraw page under ``/quan-tri/ket-qua``;
``flask results publish|withdraw``.

models: a publication is a frozen snapshot of the SIPAS report (the JSON of ``flask report sipas``) of one unit and
period, so later responses never change a published figure; the portal's settings (introduction, hotline).
services: publish, withdraw, settings (plain values in, flush only, audited). public: what the public pages read,
cached by a cheap version of everything they show (``app.cache.portal_pages``). cards: the 1200×630 PNG share
images (Pillow, the bundled DejaVu font).

May import: the shared modules of app/, the features it reads (units, surveys, organiser's report service, contests'
models, feedback's published items, auth's audit and access); never their views. Imported by create_app, app.models
and the command line.
"""

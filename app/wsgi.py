"""The entry point of gunicorn on servers: ``gunicorn "app.wsgi:application"``.

The app is built, then checked once before it serves (``app.health.startup_problems``): a node without its database,
with an old schema or without the Redis it was told to use stops here with a clear message, instead of answering
503 to every visitor while a load balancer's probe says nothing. A missing SECRET_KEY outside the embedded default
already stopped ``create_app`` (``app.config.ConfigurationError``).
"""
from __future__ import annotations

import sys

from app import create_app
from app.config import ConfigurationError
from app.health import startup_problems

try:
    application = create_app()
except ConfigurationError as error:
    sys.exit(f"HàiLòng không khởi động: {error}")

_problems = startup_problems(application)
if _problems:
    sys.exit("HàiLòng không khởi động: " + "; ".join(_problems) + ".")

"""Flask extensions, created unbound and initialised in create_app."""
import functools
import json

from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from app import ratelimit  # noqa: F401  (registers the threadless memory:// storage before limiters start)
from app.database import Base, render_migration_type
from app.security import client_address

#: JSON columns keep Vietnamese readable (and searchable with LIKE) instead of \u escapes.
json_dumps = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))

db = SQLAlchemy(model_class=Base, engine_options={"json_serializer": json_dumps})
migrate = Migrate(compare_type=True, render_as_batch=True, render_item=render_migration_type)
csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()
limiter = Limiter(key_func=client_address, default_limits=[], headers_enabled=False)

"""The reference endpoint: a bare Flask "hello", served by gunicorn exactly like the application."""
from flask import Flask

app = Flask(__name__)


@app.get("/hello")
def hello() -> str:
    """Say hello (the cheapest thing Flask can serve)."""
    return "Hello, World!"

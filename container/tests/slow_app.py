"""Test-only WSGI module: the production app plus a slow route.

Used by test_gunicorn.py so the production app never ships a /slow route.
"""
import os
import pathlib
import time

from app import app


@app.route("/slow")
def slow():
    # Tell the test the request is in flight, so it can send SIGTERM mid-request.
    marker = os.environ.get("SLOW_MARKER")
    if marker:
        pathlib.Path(marker).touch()
    time.sleep(2)
    return "slow done"

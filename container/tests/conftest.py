"""Shared fixtures; lets `python3 -m pytest container/tests` run from the repo root."""
import pathlib
import sys

import pytest

CONTAINER_DIR = pathlib.Path(__file__).resolve().parent.parent
if str(CONTAINER_DIR) not in sys.path:
    sys.path.insert(0, str(CONTAINER_DIR))

import app as app_module  # noqa: E402  (needs the sys.path entry above)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    # Each test starts outside ECS with an empty AZ cache.
    for var in ("ECS_CONTAINER_METADATA_URI_V4", "APP_VERSION", "PORT", "WEB_CONCURRENCY"):
        monkeypatch.delenv(var, raising=False)
    app_module.get_az.cache_clear()
    yield
    app_module.get_az.cache_clear()


@pytest.fixture
def client():
    return app_module.app.test_client()

"""Unit tests of the Flask app through its test client."""
import http.server
import json
import runpy
import socket
import threading
import time

import flask
import pytest

import app as app_module
from conftest import CONTAINER_DIR


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def metadata_server():
    """Fake ECS task metadata endpoint on loopback; yields (base_uri, state)."""
    state = {"requests": 0, "hang": False}
    release = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            state["requests"] += 1
            if state["hang"]:
                release.wait(5)  # longer than the app's 1 s timeout
                return
            if self.path != "/task":
                self.send_error(404)
                return
            body = json.dumps({"AvailabilityZone": "us-east-1a", "Cluster": "c"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_index_greets_with_hostname_and_version(client, monkeypatch):
    monkeypatch.delenv("HOSTNAME", raising=False)
    monkeypatch.setenv("APP_VERSION", "2.5")
    resp = client.get("/")
    assert resp.status_code == 200
    assert resp.get_data(as_text=True) == f"Hello from {socket.gethostname()} - Version 2.5"


def test_index_default_version(client):
    assert client.get("/").get_data(as_text=True).endswith(" - Version 1.0")


def test_health_fields(client, monkeypatch):
    monkeypatch.delenv("HOSTNAME", raising=False)
    monkeypatch.setenv("APP_VERSION", "3.0")
    resp = client.get("/health")
    assert resp.status_code == 200
    assert resp.is_json
    assert resp.get_json() == {
        "status": "healthy",
        "hostname": socket.gethostname(),
        "version": "3.0",
        "az": None,  # no metadata env var: key present, value null
    }


def test_hostname_from_environment(client, monkeypatch):
    # What a container (and a local task process) is told its hostname is.
    monkeypatch.setenv("HOSTNAME", "ip-10-0-1-23")
    assert client.get("/").get_data(as_text=True) == "Hello from ip-10-0-1-23 - Version 1.0"
    assert client.get("/health").get_json()["hostname"] == "ip-10-0-1-23"


def test_empty_hostname_variable_falls_back_to_the_machine(client, monkeypatch):
    monkeypatch.setenv("HOSTNAME", "")
    assert client.get("/").get_data(as_text=True) == f"Hello from {socket.gethostname()} - Version 1.0"
    assert client.get("/health").get_json()["hostname"] == socket.gethostname()


def test_az_read_once_from_metadata(client, monkeypatch, metadata_server):
    uri, state = metadata_server
    monkeypatch.setenv("ECS_CONTAINER_METADATA_URI_V4", uri)
    assert client.get("/health").get_json()["az"] == "us-east-1a"
    assert client.get("/health").get_json()["az"] == "us-east-1a"
    assert state["requests"] == 1  # cached after the first lookup


def test_az_null_when_metadata_unreachable(client, monkeypatch):
    monkeypatch.setenv("ECS_CONTAINER_METADATA_URI_V4", f"http://127.0.0.1:{free_port()}")
    resp = client.get("/health")
    assert resp.status_code == 200
    assert resp.get_json()["az"] is None


def test_az_null_when_metadata_hangs(client, monkeypatch, metadata_server):
    uri, state = metadata_server
    state["hang"] = True
    monkeypatch.setenv("ECS_CONTAINER_METADATA_URI_V4", uri)
    start = time.monotonic()
    resp = client.get("/health")
    assert resp.status_code == 200
    assert resp.get_json()["az"] is None
    assert time.monotonic() - start < app_module.METADATA_TIMEOUT_S + 1.5


@pytest.mark.parametrize("env_port, expected", [(None, 8080), ("9123", 9123)])
def test_dev_server_honours_port(monkeypatch, env_port, expected):
    if env_port:
        monkeypatch.setenv("PORT", env_port)
    calls = []
    monkeypatch.setattr(flask.Flask, "run", lambda self, **kw: calls.append(kw))
    runpy.run_path(str(CONTAINER_DIR / "app.py"), run_name="__main__")
    assert calls == [{"host": "0.0.0.0", "port": expected}]


@pytest.mark.parametrize("env_port, expected", [(None, "0.0.0.0:8080"), ("9123", "0.0.0.0:9123")])
def test_gunicorn_conf_honours_port(monkeypatch, env_port, expected):
    if env_port:
        monkeypatch.setenv("PORT", env_port)
    conf = runpy.run_path(str(CONTAINER_DIR / "gunicorn.conf.py"))
    assert conf["bind"] == expected


def test_gunicorn_conf_timeouts_and_workers(monkeypatch):
    conf = runpy.run_path(str(CONTAINER_DIR / "gunicorn.conf.py"))
    assert conf["workers"] == 2
    assert conf["graceful_timeout"] < 30  # ECS stopTimeout, then SIGKILL
    assert conf["keepalive"] > 60  # ALB idle timeout
    assert conf["accesslog"] == "-"
    assert conf["control_socket_disable"] is True
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    assert runpy.run_path(str(CONTAINER_DIR / "gunicorn.conf.py"))["workers"] == 4

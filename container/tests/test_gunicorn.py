"""Real-server test: gunicorn with the project's config drains in-flight
requests on SIGTERM (what ECS sends when it stops a task) and exits 0."""
import http.client
import importlib.util
import os
import pathlib
import runpy
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from conftest import CONTAINER_DIR

TESTS_DIR = pathlib.Path(__file__).resolve().parent
HOST = "127.0.0.1"  # loopback only


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def get(port, path, timeout):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def test_sigterm_drains_in_flight_request(tmp_path):
    if importlib.util.find_spec("gunicorn") is None:
        pytest.fail("gunicorn is not installed; run: pip install -r container/requirements.txt")
    graceful_timeout = runpy.run_path(str(CONTAINER_DIR / "gunicorn.conf.py"))["graceful_timeout"]

    port = free_port()
    marker = tmp_path / "slow-started"
    log_path = tmp_path / "gunicorn.log"
    env = {k: v for k, v in os.environ.items() if k != "ECS_CONTAINER_METADATA_URI_V4"}
    env.update(PORT=str(port), PYTHONPATH=str(TESTS_DIR), SLOW_MARKER=str(marker))
    env.pop("WEB_CONCURRENCY", None)
    # --bind overrides the config's 0.0.0.0 so the test listens on loopback only;
    # every other setting (graceful_timeout, workers, logs) comes from the config.
    cmd = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py",
           "--bind", f"{HOST}:{port}", "slow_app:app"]

    with open(log_path, "wb") as log:
        # Own process group, so the finally can also kill orphaned workers.
        proc = subprocess.Popen(cmd, cwd=CONTAINER_DIR, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    logs = lambda: log_path.read_text(errors="replace")  # noqa: E731
    slow_result = {}

    def slow_request():
        try:
            slow_result["response"] = get(port, "/slow", timeout=10)
        except Exception as exc:  # reported by the assertion below
            slow_result["error"] = repr(exc)

    def ready():
        if proc.poll() is not None:
            pytest.fail(f"gunicorn exited early ({proc.returncode}):\n{logs()}")
        try:
            return get(port, "/health", timeout=1)[0] == 200
        except OSError:
            return False

    try:
        wait_until(ready, 10, "gunicorn to serve /health")

        slow = threading.Thread(target=slow_request, daemon=True)
        slow.start()
        wait_until(marker.exists, 5, "/slow to start")
        time.sleep(0.5)  # well inside the 2 s handler
        sigterm_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)

        # While draining, a new request must not be served (the master has
        # closed its listener; at most it sits in a backlog and gets reset).
        time.sleep(0.2)
        with pytest.raises((OSError, http.client.HTTPException)):
            get(port, "/health", timeout=3)

        slow.join(10)
        assert not slow.is_alive(), "in-flight request never finished"
        assert slow_result.get("response") == (200, "slow done"), slow_result

        try:
            rc = proc.wait(timeout=graceful_timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"gunicorn still running {graceful_timeout}s after SIGTERM:\n{logs()}")
        assert rc == 0, logs()
        assert time.monotonic() - sigterm_at < graceful_timeout

        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((HOST, port), timeout=1).close()

        assert '"GET /slow HTTP/1.1" 200' in logs()  # access log on stdout
    finally:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(5)

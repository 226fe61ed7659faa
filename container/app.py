"""Minimal Flask app served by gunicorn on ECS Fargate behind an ALB."""
import functools
import json
import os
import socket
import urllib.request

from flask import Flask, jsonify

app = Flask(__name__)

# Never let the metadata lookup slow a health check down noticeably.
METADATA_TIMEOUT_S = 1.0


def _version():
    return os.environ.get("APP_VERSION", "1.0")


@functools.lru_cache(maxsize=1)
def get_az():
    """Availability Zone from the ECS task metadata endpoint (v4), or None.

    Read once per worker process and cached (including a failure), so that
    outside ECS /health does not pay the timeout on every call.
    """
    base = os.environ.get("ECS_CONTAINER_METADATA_URI_V4")
    if not base:
        return None
    # Empty ProxyHandler: the endpoint is link-local, never go through a proxy.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(base.rstrip("/") + "/task", timeout=METADATA_TIMEOUT_S) as resp:
            return json.load(resp).get("AvailabilityZone")
    except Exception:  # any failure means "unknown", never a failed request
        return None


def _hostname():
    # In a container HOSTNAME is the container's hostname; a local task process gets its own.
    return os.environ.get("HOSTNAME") or socket.gethostname()


@app.route("/")
def index():
    return f"Hello from {_hostname()} - Version {_version()}"


@app.route("/health")
def health():
    return jsonify(
        status="healthy",
        hostname=_hostname(),
        version=_version(),
        az=get_az(),
    )


if __name__ == "__main__":
    # Local development only; in the container gunicorn serves the app.
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", 8080)))

"""Static checks of the image definition and the pinned requirements."""
import json
import re

from conftest import CONTAINER_DIR


def dockerfile_instructions():
    """(INSTRUCTION, args) pairs, with continuation lines joined."""
    text = (CONTAINER_DIR / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instr, _, args = line.partition(" ")
            out.append((instr.upper(), args.strip()))
    return out


def test_dockerfile_runs_as_non_root():
    instrs = dockerfile_instructions()
    last_run = max(i for i, (name, _) in enumerate(instrs) if name == "RUN")
    users = [args for name, args in instrs[last_run:] if name == "USER"]
    assert users, "no USER after the last RUN: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"USER {users[-1]} is root"


def test_dockerfile_base_port_and_exec_form_cmd():
    instrs = dockerfile_instructions()
    assert instrs[0] == ("FROM", "python:3.12-slim")
    assert ("EXPOSE", "8080") in instrs
    assert ("ENV", "PORT=8080") in instrs
    cmd = [args for name, args in instrs if name == "CMD"][-1]
    # Exec (JSON) form, so gunicorn is PID 1 and receives SIGTERM itself.
    assert json.loads(cmd) == ["gunicorn", "--config", "gunicorn.conf.py", "app:app"]


def test_dockerignore_keeps_tests_out_of_the_image():
    ignored = (CONTAINER_DIR / ".dockerignore").read_text().split()
    assert "tests/" in ignored


def test_requirements_are_pinned():
    lines = [
        line.strip()
        for line in (CONTAINER_DIR / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert lines
    for line in lines:
        assert re.fullmatch(r"[A-Za-z0-9._-]+==[A-Za-z0-9._+!-]+", line), f"not pinned: {line}"
    names = {line.split("==")[0].lower() for line in lines}
    assert {"flask", "gunicorn", "werkzeug", "jinja2", "itsdangerous",
            "click", "blinker", "markupsafe"} <= names

"""gunicorn settings for the ECS Fargate task (read via --config)."""
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8080')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))

# On SIGTERM, in-flight requests get this long to finish. It must stay below
# the ECS stopTimeout (30 s), after which ECS sends SIGKILL.
graceful_timeout = 20

# Longer than the ALB idle timeout (60 s), so the ALB always closes an idle
# connection first and never reuses one gunicorn has just closed (a 502).
# Note: only keep-alive-capable workers (gthread, gevent) use this; the
# default sync worker answers "Connection: close", which is also safe.
keepalive = 65

# gunicorn >= 25.1 opens a management socket under $HOME by default; nothing
# uses it on ECS and the non-root user has no home directory.
control_socket_disable = True

# Logs go to stdout/stderr, which the awslogs driver ships to CloudWatch.
accesslog = "-"
errorlog = "-"

"""gunicorn settings, shared by the image and `make serve` (container/entrypoint passes this file).

Only nginx talks to gunicorn, over a unix socket in the scratch folder: nothing outside the
container can reach it, and nginx buffers slow clients so no worker waits on a slow network.
"""

import os

SCRATCH_DIR = os.environ["SCRATCH_DIR"]  # set by the entrypoint
# 1024 units = 1 vCPU. The service stack passes its Cpu parameter, so a new task size needs no
# new image; `make serve` runs with the size answered at generation.
TASK_CPU_UNITS = int(os.environ.get("TASK_CPU_UNITS") or {{ cookiecutter.cpu | tojson }})

bind = f"unix:{SCRATCH_DIR}/gunicorn.sock"
# The one place the worker count is made: two per vCPU plus one (the usual rule for an app that
# also waits on I/O), and never fewer than two, so one slow request cannot block a small task.
# WEB_CONCURRENCY overrides it.
workers = int(os.environ.get("WEB_CONCURRENCY") or max(2, 2 * TASK_CPU_UNITS // 1024 + 1))
# Measured against gthread (4 threads, kept-alive connections from nginx) on this page:
# no more requests/s, and a worse p99.
worker_class = "sync"
timeout = 20  # a worker busy this long is restarted: the longest request (see nginx.conf)
# Requests in flight get this long after SIGTERM: the entrypoint stops nginx first, and both
# together stay inside the entrypoint's DRAIN_SECONDS (20 s).
graceful_timeout = 8
worker_tmp_dir = SCRATCH_DIR  # the root filesystem is read-only in the task
control_socket_disable = True  # it would go to $HOME, which is read-only and unused here
# The app's ProxyFix alone reads the forwarded headers nginx sets. gunicorn would also read
# X-Forwarded-Ssl and friends, which nginx passes through from the client, and answer 400
# whenever one disagrees with X-Forwarded-Proto.
secure_scheme_headers = {}

# nginx writes the access log (one JSON line per request, including the ones it answers
# itself); gunicorn logs only its own events, on stderr.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")

"""Settings for the pytest process: the real settings, with the test services as defaults.

`make test` exports these variables already; the defaults let a developer run `pytest`
directly against the PostgreSQL and Redis on the usual ports. Servers and workers that tests
start as subprocesses use `config.settings` with an explicit environment.
"""

import os

os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mge")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("LOG_FORMAT", "text")
# In this process rebuild rounds run back to back (tests that pace them say so).
os.environ.setdefault("MGE_LIVE_REBUILD_SECONDS", "0")

from config.settings import *  # noqa: E402,F403

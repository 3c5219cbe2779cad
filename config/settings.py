"""Settings, read from the environment only (see .env.example and the README's table).

The embedded default needs nothing installed: SQLite, the in-memory channel layer, kombu's
filesystem transport for Celery and the offline interviewer. Setting DATABASE_URL, REDIS_URL
and LLM_BASE_URL switches each part to its production counterpart.
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
VAR_DIR = Path(env.str("MGE_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it (50+ random characters) or run with "
            "DJANGO_DEBUG=1 for local development."
        )
    SECRET_KEY = "insecure-development-key-only-used-with-DJANGO_DEBUG"

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "frontend",
    "moralgraph",
    "elicitation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # i18n: the participant pages' language from the switcher's cookie or Accept-Language
    # (staff and research pages stay English); after sessions, before CommonMiddleware.
    "elicitation.locale_middleware.ParticipantLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
# Under ASGI every request may run in another thread: no persistent connections.
DATABASES["default"]["CONN_MAX_AGE"] = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
    "DATABASE_POOL", default=False
):
    # psycopg's pool instead of a new connection per ORM call (CONN_MAX_AGE stays 0).
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": env.int("DATABASE_POOL_MAX", default=20),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer and broker ------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # channels_redis waits up to 5 s on a blocking pop; redis-py's default socket
            # timeout is also 5 s, which kills idle sockets' consumers. Read longer than that.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
    }
    # The filesystem transport expects its folders to exist, on both producer and worker.
    for _folder in ("queue", "control", "processed"):
        (BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
else:
    # Longer than the longest task, so a slow LLM task is not handed to a second worker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# The pipeline's periodic sweep (Celery beat): missed canonicalisations, stories, rebuilds.
MGE_SWEEP_SECONDS = env.int("MGE_SWEEP_SECONDS", default=60)
# The least time between the starts of two rounds of a study's live rebuild while votes keep
# coming (moralgraph/services/snapshots.py: `_pace`); 0 rebuilds back to back.
MGE_LIVE_REBUILD_SECONDS = env.float("MGE_LIVE_REBUILD_SECONDS", default=2.0)

# --- LLM backend -------------------------------------------------------------------------
LLM_BASE_URL = env.str("LLM_BASE_URL", default="")
LLM_MODEL = env.str("LLM_MODEL", default="gpt-4o")
LLM_API_KEY = env.str("LLM_API_KEY", default="")
LLM_TIMEOUT_S = env.float("LLM_TIMEOUT_S", default=30.0)
LLM_MAX_RETRIES = env.int("LLM_MAX_RETRIES", default=3)
# Embeddings for canonicalisation, from the same server. A multilingual study needs a
# multilingual model, so that a card and its translation are near neighbours: OpenAI's
# text-embedding-3-* are; a vLLM deployment serves one such as BAAI/bge-m3 or
# intfloat/multilingual-e5-large (README). "offline-hash-v1", the local hashed embedding,
# compares words and never finds a card's match in another language.
EMBED_MODEL = env.str("EMBED_MODEL", default="text-embedding-3-small")
# The embedding model's own server, when it is not LLM_BASE_URL's (vLLM serves one model per
# server; compose runs the embedding model beside the chat model). Empty: LLM_BASE_URL.
EMBED_BASE_URL = env.str("EMBED_BASE_URL", default="")
EMBED_API_KEY = env.str("EMBED_API_KEY", default="")

# --- Auth, sessions, security -------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# The health endpoint is probed over plain HTTP from inside the deployment.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
# i18n: the participant interface's languages (Arabic is laid out right to left) and the
# catalogues in locale/ (.po and their compiled .mo, both committed; see the README).
LANGUAGES = [("en", "English"), ("es", "Español"), ("ar", "العربية")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("MGE_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

LOGIN_URL = "/admin/login/"

# --- Logging: one JSON object a line unless LOG_FORMAT=text ------------------------------
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
    },
}

# --- Live dashboard (staff) ----------------------------------------------------------------
# What a thousand model tokens cost, in the currency you bill in: the staff dashboard's
# estimated cost is the interviews' tokens times this. 0 (the default) shows no estimate.
MGE_MODEL_COST_PER_1K_TOKENS = env.float("MGE_MODEL_COST_PER_1K_TOKENS", default=0.0)

# --- Card screening: the optional model judge after the offline rules ---------------------
# The rules always run. With this on, a study whose interviewer is the model also asks the
# rubric judge (inference/moderation.py) before its cards are shown to other participants;
# a judge that fails or times out holds the card for staff ("judge unavailable").
MGE_SCREENING_JUDGE = env.bool("MGE_SCREENING_JUDGE", default=False)
MGE_SCREENING_MODEL = env.str("MGE_SCREENING_MODEL", default="")  # empty: the study's model

# --- Manipulation flags and quarantine (staff integrity page) ------------------------------
# A participant is flagged for straight-lining with at least this many votes, all one choice.
MGE_FLAG_STRAIGHT_LINE_VOTES = env.int("MGE_FLAG_STRAIGHT_LINE_VOTES", default=5)
# Implausible speed: with at least MGE_FLAG_SPEED_MIN_VOTES votes, a median gap between
# consecutive votes under this many seconds (a story takes longer than that to read) ...
MGE_FLAG_SPEED_MIN_VOTES = env.int("MGE_FLAG_SPEED_MIN_VOTES", default=3)
MGE_FLAG_VOTE_GAP_SECONDS = env.float("MGE_FLAG_VOTE_GAP_SECONDS", default=4.0)
# ... or a card confirmed less than this many seconds after its interview began.
MGE_FLAG_INTERVIEW_SECONDS = env.float("MGE_FLAG_INTERVIEW_SECONDS", default=60.0)
# Shared network: at least this many participants of a study from one network (IPv4 /24,
# IPv6 /48). A shared browser flags from two participants.
MGE_FLAG_SHARED_NETWORK = env.int("MGE_FLAG_SHARED_NETWORK", default=5)

# --- Reliability: brokers, workers, rebuilds, databases, headers ---------------------------
# Redis: a task late-acknowledged (the rebuilds) is handed to another worker only after this
# many seconds without its acknowledgement: longer than a rebuild round and the longest retry
# backoff (120 s), short enough that a killed worker's task comes back the same hour. The
# sweep re-sends a dead worker's rebuild long before that.
if not CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,
        "visibility_timeout": env.int("MGE_BROKER_VISIBILITY_TIMEOUT", default=900),
        "socket_keepalive": True,
        "socket_connect_timeout": 5,
        "health_check_interval": 10,
        "retry_on_timeout": True,
    }
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        # kombu's Redis transport with the repair that keeps a worker alive when Redis
        # restarts under a late-acknowledged task (config/broker.py).
        CELERY_BROKER_TRANSPORT = "config.broker:Transport"
# Workers write a heartbeat every MGE_WORKER_HEARTBEAT_SECONDS; /healthz answers 503 when the
# newest is older than MGE_WORKER_STALE_SECONDS, or (MGE_HEALTH_REQUIRE_WORKER, the default
# outside DEBUG) when no worker ever reported; and when a vote has waited more than
# MGE_HEALTH_MAX_LAG_SECONDS for its live snapshot.
MGE_WORKER_HEARTBEAT_SECONDS = env.float("MGE_WORKER_HEARTBEAT_SECONDS", default=10.0)
MGE_WORKER_STALE_SECONDS = env.float("MGE_WORKER_STALE_SECONDS", default=60.0)
MGE_HEALTH_REQUIRE_WORKER = env.bool("MGE_HEALTH_REQUIRE_WORKER", default=not DEBUG)
MGE_HEALTH_MAX_LAG_SECONDS = env.float("MGE_HEALTH_MAX_LAG_SECONDS", default=300.0)
# PostgreSQL's pool checks each connection before lending it, so a database restart costs no
# request a dead pooled connection (psycopg_pool.ConnectionPool.check_connection).
if isinstance(DATABASES["default"].get("OPTIONS", {}).get("pool"), dict):
    from psycopg_pool import ConnectionPool as _ConnectionPool

    DATABASES["default"]["OPTIONS"]["pool"]["check"] = _ConnectionPool.check_connection
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# While the database is down, pages answer 503 with a short explanation (config/middleware.py).
MIDDLEWARE.insert(1, "config.middleware.DatabaseUnavailableMiddleware")
# Content Security Policy (Django's own middleware): scripts, styles, images, sockets and forms
# from this origin only; no inline script or style (pages use none), no framing.
from django.utils.csp import CSP  # noqa: E402

MIDDLEWARE.insert(1, "django.middleware.csp.ContentSecurityPolicyMiddleware")
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
TEMPLATES[0]["OPTIONS"]["context_processors"].append(  # type: ignore[index]
    "django.template.context_processors.csp"  # csp_nonce, for any inline script to come
)

# --- Limits against abuse: request rate limits, staff login lockout ----------------------------
# Rate limits (elicitation/ratelimits.py) count in the cache: Redis when REDIS_URL is set (shared
# by every server process), else this process's memory (`make run`'s single process).
if REDIS_URL:
    # Sessions read from Redis, written through to the database: a page's session costs no
    # query. While Redis is down they are read from and written to the database alone, logged
    # (config/sessions.py; Django's cached_db answered 500 then).
    SESSION_ENGINE = "config.sessions"
    CACHES = {
        "default": {
            "BACKEND": "config.cache.SharedClientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "mge",
            "TIMEOUT": 300,
            # A hung Redis costs a request 2 s, then the limits let it through (logged).
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# "COUNT/SECONDS": at most COUNT in a fixed window of SECONDS; 0/… or an empty value turns one
# off. Per IP (keyed hash of REMOTE_ADDR), per browser session and per participant.
# Requests from these addresses are not counted per address (sessions and participants still
# are): by default the host itself, and only while debugging (`make run`, the test suite); in
# production every address counts. Behind a proxy, run uvicorn with --proxy-headers so
# REMOTE_ADDR is the participant's address, else every participant shares the proxy's count.
MGE_RATE_EXEMPT_IPS = env.list("MGE_RATE_EXEMPT_IPS", default=["127.0.0.1", "::1"] if DEBUG else [])
MGE_RATE_SIGNUPS_PER_IP = env.str("MGE_RATE_SIGNUPS_PER_IP", default="50/60")
MGE_RATE_SIGNUPS_PER_SESSION = env.str("MGE_RATE_SIGNUPS_PER_SESSION", default="20/600")
MGE_RATE_VOTES_PER_PARTICIPANT = env.str("MGE_RATE_VOTES_PER_PARTICIPANT", default="60/60")
MGE_RATE_VOTES_PER_SESSION = env.str("MGE_RATE_VOTES_PER_SESSION", default="120/60")
MGE_RATE_VOTES_PER_IP = env.str("MGE_RATE_VOTES_PER_IP", default="600/60")
MGE_RATE_MESSAGES_PER_PARTICIPANT = env.str("MGE_RATE_MESSAGES_PER_PARTICIPANT", default="30/60")
MGE_RATE_MESSAGES_PER_SESSION = env.str("MGE_RATE_MESSAGES_PER_SESSION", default="60/60")
MGE_RATE_MESSAGES_PER_IP = env.str("MGE_RATE_MESSAGES_PER_IP", default="300/60")
# Resume codes tried on /s/<slug>/resume/ (each try counts): few, so codes cannot be guessed.
MGE_RATE_RESUMES_PER_IP = env.str("MGE_RATE_RESUMES_PER_IP", default="20/600")
MGE_RATE_RESUMES_PER_SESSION = env.str("MGE_RATE_RESUMES_PER_SESSION", default="10/600")

# Staff login throttling (django-axes): 5 failed logins for one username from one address lock
# that pair out for 15 minutes, the right password included; counted in the cache above, so
# no address is written to the database.
INSTALLED_APPS.append("axes")
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
if not REDIS_URL:  # one process (`make run`): its own memory counts correctly
    SILENCED_SYSTEM_CHECKS = ["axes.W001"]
AXES_FAILURE_LIMIT = env.int("MGE_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("MGE_LOGIN_LOCKOUT_MINUTES", default=15.0) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "elicitation/login_locked.html"
AXES_CLIENT_IP_CALLABLE = "elicitation.ratelimits.client_address"
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

# --- Database pool: how long a request waits for a connection --------------------------------
# psycopg's default is 30 s: while PostgreSQL restarts, a participant would stare at a blank
# page for half a minute before the friendly 503. A few seconds is enough for a busy pool.
if isinstance(DATABASES["default"].get("OPTIONS", {}).get("pool"), dict):
    DATABASES["default"]["OPTIONS"]["pool"]["timeout"] = env.float(
        "DATABASE_POOL_TIMEOUT", default=5.0
    )

"""c2c-ops settings, read from the environment only.

With no variables set, the app runs on SQLite and an embedded (filesystem) Celery broker so a
laptop needs no servers. Production and the test suite set DATABASE_URL (PostgreSQL) and
CELERY_BROKER_URL (Redis). docs/configuration.md lists every variable.
"""

import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from .env import env_bool, env_decimal, env_duration, env_int, env_list, env_str
from .metrics import directory as metrics_directory
from .sso.config import parse_role_map

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("C2C_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
C2C_PRODUCTION = env_bool("C2C_PRODUCTION", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG and C2C_PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set in production (C2C_PRODUCTION=true)")
    # Laptop default only: production mode refuses to start without a real key (above).
    SECRET_KEY = "insecure-local-only-c2c-ops-key-change-me"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "csp",
    "axes",
    "audit",
    "tracking",
    "dashboards",
    "exceptions",
    "c2c_ops.sso",
]

MIDDLEWARE = [
    # First: times the whole request, every other middleware included.
    "c2c_ops.metrics.http.RequestTimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "c2c_ops.lazy_messages.LazyMessageMiddleware",
    "c2c_ops.idle.IdleTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "c2c_ops.middleware.DatabaseUnavailableMiddleware",
    # Last, as django-axes asks: turns a lockout seen during sign-in into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "c2c_ops.urls"
WSGI_APPLICATION = "c2c_ops.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboards.filterbar.context",
            ],
            "libraries": {"display": "c2c_ops.display"},
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
# `session` (default): each process keeps its own PostgreSQL sessions (direct, or a pooler
# in session mode). `transaction`: through PgBouncer in transaction pooling mode.
DB_POOL_MODE = env_str("DB_POOL_MODE", "session")
if DB_POOL_MODE not in ("session", "transaction"):
    raise ImproperlyConfigured(f"DB_POOL_MODE is {DB_POOL_MODE!r}: use session or transaction")
try:
    _db = dj_database_url.parse(
        DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0)
    )
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from exc
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so the ingest path (read, merge, write) never
    # fails half-way with "database is locked"; WAL lets dashboards read meanwhile.
    _db["CONN_MAX_AGE"] = 0
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    _db["CONN_HEALTH_CHECKS"] = True
    _db.setdefault("OPTIONS", {})
    _db["OPTIONS"].setdefault("connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5, minimum=1))
    if DB_POOL_MODE == "transaction":
        # Behind PgBouncer's transaction pooling each transaction may meet another server
        # session: nothing may live in a session between transactions. psycopg prepares
        # no statement, Django declares no cursor outside a transaction, and the ingest's
        # staging tables are made inside each transaction (tracking/batch_sql.py). JIT is
        # turned off on the role instead (docs/deploy.md): PgBouncer refuses `options`.
        _db["OPTIONS"]["prepare_threshold"] = None
        _db["DISABLE_SERVER_SIDE_CURSORS"] = True
    elif not env_bool("DB_JIT", False):
        # Dashboard reads sum a few hundred thousand rollup rows: the planner's estimate
        # triggers JIT compilation, which costs more than the query (bench/metrics.py).
        _db["OPTIONS"].setdefault("options", "-c jit=off")
DATABASES = {"default": _db}
# A covering index's extra columns (Rollup "rollup_days") serve PostgreSQL; SQLite, the
# embedded default, builds a plain index instead, which is all the demo needs.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        # kombu's default is ./control, in whatever folder the process started in.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TIMEZONE = "UTC"
# Named queues, so each kind of work scales on its own (`celery worker -Q metrics` on one
# machine, `-Q alerts,replays` on another). A worker started without -Q takes them all.
CELERY_TASK_QUEUES = [Queue(name) for name in ("celery", "ingest", "metrics", "alerts", "replays")]
CELERY_TASK_ROUTES = {
    # Exact names are matched before patterns: a replay's message has an old name.
    "exceptions.tasks.send_replay": {"queue": "replays"},
    "tracking.*": {"queue": "ingest"},
    "dashboards.*": {"queue": "metrics"},
    "exceptions.*": {"queue": "alerts"},
}
# `file` (default): beat keeps its schedule in a local file; run exactly one. `redis`:
# celery-redbeat keeps it in Redis behind a lock, so a beat on a second machine waits and
# takes over within BEAT_LOCK_TIMEOUT_SECONDS when the first stops.
BEAT_SCHEDULER = env_str("BEAT_SCHEDULER", "file")
if BEAT_SCHEDULER == "redis":
    if not CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        raise ImproperlyConfigured("BEAT_SCHEDULER=redis needs a Redis CELERY_BROKER_URL")
    CELERY_BEAT_SCHEDULER = "redbeat.RedBeatScheduler"
    CELERY_REDBEAT_REDIS_URL = env_str("BEAT_REDIS_URL", CELERY_BROKER_URL)
    CELERY_REDBEAT_KEY_PREFIX = "c2c-ops:beat:"
    CELERY_REDBEAT_LOCK_TIMEOUT = env_int("BEAT_LOCK_TIMEOUT_SECONDS", 60, minimum=5)
    # The lock is renewed every tick: tick well inside its timeout.
    CELERY_BEAT_MAX_LOOP_INTERVAL = max(1, CELERY_REDBEAT_LOCK_TIMEOUT // 5)
elif BEAT_SCHEDULER != "file":
    raise ImproperlyConfigured(f"BEAT_SCHEDULER is {BEAT_SCHEDULER!r}: use file or redis")
# Every minute: mark late transactions stuck, fold changes into the rollups, then take the
# revenue-at-risk snapshot. Each task is safe to overlap with a slow previous run.
METRICS_INTERVAL_SECONDS = env_int("METRICS_INTERVAL_SECONDS", 60, minimum=1)
# Summaries are cached until a refresh, rebuild or snapshot changes the figures behind them
# (dashboards/freshness.py); this bounds how long one is kept. 0 turns the cache off.
METRICS_CACHE_SECONDS = env_int("METRICS_CACHE_SECONDS", 300, minimum=0)
# Those cached figures, and the risk chart's per-snapshot sums, live in Django's cache.
# With CACHE_URL (Redis) every web process shares them; without it each process keeps its
# own in memory and computes each figure once for itself.
CACHE_URL = env_str("CACHE_URL", "")
if CACHE_URL and not CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    # The scheme only, if it looks like one: the rest of the URL may hold a password.
    found = re.match(r"[a-z][a-z0-9+.-]{0,15}://", CACHE_URL)
    scheme = found[0] if found else "a value without a scheme"
    raise ImproperlyConfigured(
        f"CACHE_URL must be a redis://, rediss:// or unix:// URL, not {scheme}"
    )
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "c2c",
            # A cache that stops answering must not hold up pages for long.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# Exceptions: open and resolve cases from the ledger's outbox, wake snoozed cases, and
# resend replays whose sender died or whose retry is due.
EXCEPTIONS_INTERVAL_SECONDS = env_int("EXCEPTIONS_INTERVAL_SECONDS", 15, minimum=1)

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

# --- Sign-in (OpenID Connect) ---------------------------------------------------------------
# SSO is on when OIDC_ISSUER is set; its endpoints and keys come from the issuer's discovery
# document, fetched at the first sign-in (c2c_ops/sso/discovery.py). docs/configuration.md
# says how to connect Entra ID, Okta and Keycloak.
OIDC_ISSUER = env_str("OIDC_ISSUER").strip().rstrip("/")
OIDC_RP_CLIENT_ID = env_str("OIDC_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET")
OIDC_RP_SCOPES = " ".join(env_list("OIDC_SCOPES", "openid,email,profile"))
OIDC_ROLE_CLAIM = env_str("OIDC_ROLE_CLAIM", "groups").strip() or "groups"
OIDC_ROLE_MAP = parse_role_map(env_str("OIDC_ROLE_MAP"))
# Whom a person without a mapped group is told to ask, on the page that refuses them.
OIDC_ACCESS_CONTACT = env_str("OIDC_ACCESS_CONTACT", "your c2c-ops administrator")
OIDC_USE_PKCE = env_bool("OIDC_USE_PKCE", True)
OIDC_USE_NONCE = True
OIDC_FETCH_USERINFO = env_bool("OIDC_FETCH_USERINFO", True)
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT", 10, minimum=1)
# The ID token is kept in the session for the provider's sign-out (id_token_hint).
OIDC_STORE_ID_TOKEN = True
OIDC_OP_LOGOUT_URL_METHOD = "c2c_ops.sso.views.provider_logout_url"
PASSWORD_LOGIN = env_bool("PASSWORD_LOGIN", True)
if OIDC_ISSUER:
    if not OIDC_ISSUER.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise ImproperlyConfigured(f"OIDC_ISSUER must be an https:// URL, not {OIDC_ISSUER!r}")
    if not OIDC_RP_CLIENT_ID:
        raise ImproperlyConfigured("OIDC_CLIENT_ID must be set when OIDC_ISSUER is")
    if not OIDC_ROLE_MAP:
        raise ImproperlyConfigured(
            "OIDC_ROLE_MAP must map at least one group to a role (e.g. c2c-admins=admin)"
        )
elif not PASSWORD_LOGIN:
    raise ImproperlyConfigured("PASSWORD_LOGIN=false needs OIDC_ISSUER: nobody could sign in")

# --- I18N and time --------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "c2c_ops.staticfinders.PlotlyFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env_bool("C2C_PRODUCTION", False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security (production mode) -------------------------------------------------------------
if env_bool("C2C_PRODUCTION", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Browser security: CSP and headers (docs/configuration.md, "Browser security") -------
# Every script and stylesheet is a file of our own: no inline script, handler or style.
# Two exact exceptions, both for plotly.js (the overview's charts), by hash:
# - it adds empty <style> elements and fills them through CSSOM (insertRule), which CSP
#   does not govern: the hash of the empty string lets in an empty <style>, nothing else;
# - it injects the stylesheet of the map library it bundles (maplibre-gl) as it loads: the
#   hash of that stylesheet as this plotly.js carries it (tests/c2c_ops/test_csp.py checks
#   it against the installed plotly, whose upgrade may change it).
CSP_EMPTY_STYLE_HASH = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
CSP_PLOTLY_MAPLIBRE_STYLE_HASH = "'sha256-ji27qzEtxXZW+7dun6UwjHXJ18e6WAin1VvNtkzIE/o='"
_csp = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", CSP_EMPTY_STYLE_HASH, CSP_PLOTLY_MAPLIBRE_STYLE_HASH],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# CSP_REPORT_ONLY=true sends the policy as Content-Security-Policy-Report-Only instead (the
# browser reports what it would block, in its console, and blocks nothing).
if env_bool("CSP_REPORT_ONLY", False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _csp
else:
    CONTENT_SECURITY_POLICY = _csp
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# --- Sign-in throttling (django-axes) ------------------------------------------------------
# Axes first: it refuses a locked-out client before any backend checks a password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failures count per username and client address together: one address guessing at one
# account is stopped, while nobody can lock a colleague out from elsewhere, and one office
# behind a shared address is not locked out by a single person's typos.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_MINUTES = env_int("AXES_COOLOFF_MINUTES", 15, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=AXES_COOLOFF_MINUTES)
AXES_RESET_ON_SUCCESS = True
# A lockout ends a fixed time after it began: tries made meanwhile are refused unchecked
# and do not push the end back, so the lockout page can say when to come back.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "c2c_ops.lockout.locked_out"
# The client address: REMOTE_ADDR, unless TRUSTED_PROXY_COUNT says how many proxies of ours
# stand in front and append to X-Forwarded-For (c2c_ops/client_ip.py).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
AXES_CLIENT_IP_CALLABLE = "c2c_ops.client_ip.client_ip"

# --- Idle sign-out --------------------------------------------------------------------------
# A session unused this long is signed out; background polls do not count (c2c_ops/idle.py).
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 60, minimum=1)

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tracking.api.auth.FlowKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # The API reads JSON only (docs/api.md); the pages post their forms to their own views.
    "DEFAULT_PARSER_CLASSES": ["tracking.api.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "c2c-ops API",
    "DESCRIPTION": "Ingest and read the contract-to-cash transaction ledger.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The contract is public; the data behind it is not.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Swagger UI from our own static files: the app must work on a closed network.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "c2c_ops.openapi.complete",
    ],
    "ENUM_NAME_OVERRIDES": {
        "TransactionStatusEnum": "tracking.models.TransactionStatus.choices",
        "EventStatusEnum": "tracking.models.EventStatus.choices",
        "CaseStatusEnum": "exceptions.models.CaseStatus.choices",
        "ReplayStatusEnum": "exceptions.models.ReplayStatus.choices",
        "BreakKindEnum": "dashboards.models.BreakKind.choices",
        "CaseKindEnum": "exceptions.models.CaseKind.choices",
    },
}

# --- Ingest ---------------------------------------------------------------------------------
# Upper bound of a request body, compressed or inflated, on /v1/traces and /api/v1/events.
INGEST_MAX_BODY_BYTES = env_int("INGEST_MAX_BODY_BYTES", 16 * 1024 * 1024, minimum=1024)
INGEST_MAX_EVENTS = 1000
# Traces written per database transaction of an OTLP export: each holds a lock slot until
# its part commits (see tracking.ingest.spans.ingest).
SPAN_WRITE_TRACES = env_int("SPAN_WRITE_TRACES", 500, minimum=1)
INGEST_RETRY_AFTER_SECONDS = env_int("INGEST_RETRY_AFTER_SECONDS", 5, minimum=1)
# A rotated key keeps working this long beside its successor, for clients to switch over.
API_KEY_ROTATION_OVERLAP_HOURS = env_int("API_KEY_ROTATION_OVERLAP_HOURS", 24, minimum=0)
# How long a process trusts a key it verified before reading it again (tracking/keys.py):
# a key revoked elsewhere stops working within this. 0 reads the key on every request.
API_KEY_CACHE_SECONDS = env_int("API_KEY_CACHE_SECONDS", 5, minimum=0)
REPORTING_CURRENCY = env_str("REPORTING_CURRENCY", "USD").upper()
# Reconciliation: how long systems may hold different versions of a contract before that is
# a break, and by how much two stages' amounts may differ (in the transaction's currency).
RECON_VERSION_GRACE = env_duration("RECON_VERSION_GRACE", "4h")
RECON_TOLERANCE = env_decimal("RECON_TOLERANCE", "0.01")
# The SLA policy whose start-to-end times are "billing latency" in the summary.
BILLING_LATENCY_POLICY = env_str("BILLING_LATENCY_POLICY", "billing-latency")
DATA_UPLOAD_MAX_MEMORY_SIZE = INGEST_MAX_BODY_BYTES

# --- Exceptions and replays ----------------------------------------------------------------
# Cases whose flow names no owner team, and that no ownership rule routes, go to this team.
EXCEPTIONS_DEFAULT_TEAM = env_str("EXCEPTIONS_DEFAULT_TEAM", "operations")
# A replay of a transaction worth more than this (reporting currency) waits for a second
# operator's approval. 0 makes every replay need one.
REPLAY_APPROVAL_THRESHOLD = env_decimal("REPLAY_APPROVAL_THRESHOLD", "10000")
# At most this many replays are sent to one flow per minute; the rest wait their turn.
REPLAY_RATE_PER_MINUTE = env_int("REPLAY_RATE_PER_MINUTE", 30, minimum=1)
REPLAY_TIMEOUT_SECONDS = env_int("REPLAY_TIMEOUT_SECONDS", 10, minimum=1)
REPLAY_MAX_ATTEMPTS = env_int("REPLAY_MAX_ATTEMPTS", 6, minimum=1)
# First retry delay after a 5xx or a timeout; doubled each attempt, with jitter, up to 15 min.
REPLAY_RETRY_SECONDS = env_int("REPLAY_RETRY_SECONDS", 10, minimum=0)
# A sent replay whose stage the flow has not reported succeeded (or failed) by then fails.
REPLAY_CONFIRM_SECONDS = env_int("REPLAY_CONFIRM_SECONDS", 6 * 3600, minimum=60)

# --- Alerts ---------------------------------------------------------------------------------
# Links in alerts and digests point here (the address people open c2c-ops at).
C2C_BASE_URL = env_str("C2C_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# Django's own email settings, from variables of the same names.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "c2c-ops <alerts@localhost>")
# The alert sender: how often beat runs it, how often a failed send is retried and when it
# gives up (the first retry after ALERT_RETRY_SECONDS, doubling).
ALERTS_INTERVAL_SECONDS = env_int("ALERTS_INTERVAL_SECONDS", 15, minimum=1)
ALERT_RETRY_SECONDS = env_int("ALERT_RETRY_SECONDS", 30, minimum=0)
ALERT_MAX_ATTEMPTS = env_int("ALERT_MAX_ATTEMPTS", 8, minimum=1)
# A sender's claim on an alert; if it dies mid-send, another sends it after this.
ALERT_LEASE_SECONDS = env_int("ALERT_LEASE_SECONDS", 120, minimum=1)
# The daily digest goes out at the first run of the day after this hour (UTC).
DIGEST_HOUR = env_int("DIGEST_HOUR", 7, minimum=0)

# --- Retention ------------------------------------------------------------------------------
# Spans are kept this many days by their start time (0: kept for ever). On PostgreSQL whole
# day partitions are dropped (docs/scaling.md, "Span partitions and retention").
SPAN_RETENTION_DAYS = env_int("SPAN_RETENTION_DAYS", 30, minimum=0)
# Events are finance's evidence: kept unless this is set; then only the events of
# transactions over (completed or failed) and quiet for this many days are deleted.
EVENT_RETENTION_DAYS = env_int("EVENT_RETENTION_DAYS", 0, minimum=0)
# Day partitions of the span table made ahead of time (by the hourly beat job).
SPAN_PARTITIONS_AHEAD = env_int("SPAN_PARTITIONS_AHEAD", 7, minimum=1)

# --- Periodic work (Celery beat) ------------------------------------------------------------
# Every periodic job, once: its task and how often, in seconds. Each message expires after
# its own interval: a tick the workers could not take in time is dropped, and the next one
# does the work (every job catches up on what is due).
PERIODIC_JOBS = {
    "sweep-stuck": ("tracking.tasks.sweep_stuck", METRICS_INTERVAL_SECONDS),
    "refresh-rollups": ("dashboards.tasks.refresh_rollups", METRICS_INTERVAL_SECONDS),
    "snapshot-risk": ("dashboards.tasks.snapshot_risk", METRICS_INTERVAL_SECONDS),
    "exception-intake": ("exceptions.tasks.intake_changes", EXCEPTIONS_INTERVAL_SECONDS),
    "exception-housekeeping": ("exceptions.tasks.housekeeping", EXCEPTIONS_INTERVAL_SECONDS),
    "alert-sender": ("exceptions.tasks.send_alerts", ALERTS_INTERVAL_SECONDS),
    "alert-rules": ("exceptions.tasks.evaluate_rules", 60),
    # The digest goes out at the first run of the day after DIGEST_HOUR.
    "daily-digest": ("exceptions.tasks.send_digests", 900),
    "span-partitions": ("tracking.tasks.create_span_partitions", 3600),
    "retention": ("tracking.tasks.apply_retention", 86400),
}
CELERY_BEAT_SCHEDULE = {
    name: {"task": task, "schedule": every, "options": {"expires": every}}
    for name, (task, every) in PERIODIC_JOBS.items()
}

# --- Metrics (Prometheus) ------------------------------------------------------------------
# prometheus_client picks in-memory or multiprocess mode when first imported: the directory
# is named here, before anything imports it, for every gunicorn worker and Celery process
# to write its own files that GET /metrics adds up (c2c_ops/metrics, docs/scaling.md).
PROMETHEUS_MULTIPROC_DIR = str(metrics_directory.ensure(VAR_DIR))
# When set, /metrics asks for "Authorization: Bearer <METRICS_TOKEN>"; unset, it is open.
METRICS_TOKEN = env_str("METRICS_TOKEN")

# --- OpenTelemetry (the app's own traces) ---------------------------------------------------
# Exporting is off unless an OTLP endpoint is configured with the standard variables.
OTEL_EXPORT_ENABLED = bool(
    env_str("OTEL_EXPORTER_OTLP_ENDPOINT") or env_str("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
)
# Not traced: the probes, static files, the scrape, and both ingest endpoints (a trace of
# each callback would outnumber every other span; /metrics counts and times them).
OTEL_EXCLUDED_URLS = "v1/traces,/api/v1/events$,healthz,readyz,static/,://[^/]*/metrics$"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["stderr"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        # slack_sdk logs request URLs at INFO: a Slack webhook's path is its secret.
        "slack_sdk": {"level": "WARNING"},
    },
}

"""Podium settings, configured from the environment.

Without any variables set Podium runs in embedded mode: SQLite (WAL) and kombu's
filesystem broker in ./var, so `make demo` needs no services. Production sets
DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL or REDIS_URL (Redis), SECRET_KEY,
DEBUG=false and ALLOWED_HOSTS. A malformed value stops start-up with a message that
names the variable.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PODIUM_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)  # embedded mode keeps its database and broker here

DEBUG = env_bool("DEBUG", True)

_DEV_SECRET = "podium-insecure-development-key-change-me-in-production-0123456789"
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET if DEBUG else "")
if not DEBUG and (not SECRET_KEY or SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 50 characters when DEBUG is off."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
for _origin in CSRF_TRUSTED_ORIGINS:
    if not _origin.startswith(("http://", "https://")):
        raise ImproperlyConfigured(
            f"CSRF_TRUSTED_ORIGINS entries must start with http:// or https://; got {_origin!r}."
        )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "guardian",
    "django_celery_beat",
    "audit",
    "orchestration",
    "orchestration.decisions",
    "approvals",
    "console",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "console.context_processors.navigation",
            ],
        },
    }
]

# --- Database ------------------------------------------------------------------------
_default_db = f"sqlite:///{VAR_DIR / 'podium.sqlite3'}"
DATABASE_URL = env_url("DATABASE_URL", _default_db, ("sqlite", "postgres", "postgresql"))
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web and the workers read while one of them writes; IMMEDIATE
        # takes the write lock at BEGIN, so two writers queue instead of deadlocking.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = "postgresql" in DATABASES["default"]["ENGINE"]

# --- Auth ----------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 12, minimum=60)
CSRF_FAILURE_VIEW = "console.views.csrf_failure"
ANONYMOUS_USER_NAME = None  # guardian: anonymous users never hold object permissions

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Email ---------------------------------------------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Podium <podium@localhost>")
# Where people open Podium: the links in emails start with it. Defaults to the first
# trusted origin, else to the address `make demo` serves.
PODIUM_BASE_URL = env_url(
    "PODIUM_BASE_URL",
    CSRF_TRUSTED_ORIGINS[0] if CSRF_TRUSTED_ORIGINS else "http://127.0.0.1:8000",
    ("http", "https"),
).rstrip("/")

# --- Celery --------------------------------------------------------------------------
# With a host named, kombu does not warn "No hostname was supplied" in every process.
_broker_default = env_str("REDIS_URL", "filesystem://localhost/")
CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL", _broker_default, ("redis", "rediss", "amqp", "filesystem", "memory")
)
BROKER_IS_FILESYSTEM = CELERY_BROKER_URL.startswith("filesystem://")
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 5
if BROKER_IS_FILESYSTEM:
    # Embedded mode: kombu's filesystem transport needs no service and is safe with
    # several worker processes (a reader claims a message file by moving it away), with
    # messages written whole before they appear (config/embedded_broker.py). It has no
    # redelivery of unacknowledged messages; the sweep re-dispatches lost work.
    CELERY_BROKER_TRANSPORT = "config.embedded_broker:Transport"
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("queue", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # The transport polls its folder, and a worker process waits for the next poll
        # before it takes its next message, so this interval bounds every hop between
        # steps: at 10 ms the engine runs 135 steps/s (one message each) and 920 chained
        # (bench/embedded_throughput.py) against 32 and 370 at 50 ms, for about two
        # percent more of one CPU while idle.
        "polling_interval": 0.01,
    }
else:
    if CELERY_BROKER_URL.startswith("redis://"):
        # Same transport, one Redis client per channel (config/broker.py). Not for
        # rediss://, whose TLS defaults kombu applies only to its own transport name.
        CELERY_BROKER_TRANSPORT = "config.broker:Transport"
    # The visibility timeout must outlast the longest task, or Redis hands a running
    # task to a second worker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_TASK_TIME_LIMIT * 2,
        "unacked_restore_limit": 100,
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Processes per `celery worker` (its --concurrency wins). A step spends most of its time
# waiting: on its commit, an HTTP service, an AI provider. With one process per core (2
# here, Celery's default) two slow calls stall every case, and even no-op steps leave the
# cores idle while each process waits for its commit: 8 processes on 2 vCPUs run 49 %
# more steps a second (bench/engine_throughput.py) for ~55 MB of memory and one database
# connection each. SQLite takes one writer at a time, so more processes would only queue.
CELERY_WORKER_CONCURRENCY = env_int("PODIUM_WORKER_CONCURRENCY", 8 if IS_POSTGRES else 2, minimum=1)
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_DEFAULT_QUEUE = "podium"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "orchestration.beat:Scheduler"
PODIUM_SWEEP_SECONDS = env_int("PODIUM_SWEEP_SECONDS", 5, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "podium-sweep": {"task": "orchestration.sweep", "schedule": PODIUM_SWEEP_SECONDS},
    # Rarer repairs between cases (lost reports of sub-flow cases), too costly for every sweep.
    "podium-recover": {"task": "orchestration.recover", "schedule": 60.0},
    "podium-audit-seal": {"task": "audit.seal", "schedule": 60.0},
    "podium-audit-verify": {"task": "audit.verify", "schedule": 3600.0},
}

# --- Podium --------------------------------------------------------------------------
PODIUM_INLINE_STEPS = env_int("PODIUM_INLINE_STEPS", 50, minimum=0)
# The engine's hot-path statements run from plans each database session keeps (off
# behind a pooler that moves a client between sessions, e.g. PgBouncer in transaction mode).
PODIUM_PG_PREPARED_STATEMENTS = env_bool("PODIUM_PG_PREPARED_STATEMENTS", True)
# How long past its timeout a claimed step may run before the sweep takes it back.
PODIUM_LEASE_MARGIN_SECONDS = env_int("PODIUM_LEASE_MARGIN_SECONDS", 30, minimum=0)
PODIUM_HTTP_ALLOWLIST = env_list("PODIUM_HTTP_ALLOWLIST", [])
# Circuit breaker per connector target: failures in a row before calls pause, and for
# how long (orchestration/connectors/circuit.py).
PODIUM_CIRCUIT_FAILURES = env_int("PODIUM_CIRCUIT_FAILURES", 5, minimum=1)
PODIUM_CIRCUIT_COOL_DOWN_SECONDS = env_int("PODIUM_CIRCUIT_COOL_DOWN_SECONDS", 30, minimum=1)
PODIUM_WEBHOOK_MAX_BYTES = env_int("PODIUM_WEBHOOK_MAX_BYTES", 256 * 1024, minimum=1024)
# Approvals: the deadline of a human task whose step declares no SLA (3 days), and how
# often the escalation sweep runs.
PODIUM_TASK_DEFAULT_SLA_MINUTES = env_int("PODIUM_TASK_DEFAULT_SLA_MINUTES", 3 * 24 * 60, minimum=1)
PODIUM_ESCALATION_SWEEP_SECONDS = env_int("PODIUM_ESCALATION_SWEEP_SECONDS", 30, minimum=1)
# Learned decision models: human decisions needed before the first model, and how many
# new ones trigger retraining.
PODIUM_LEARNED_MIN_SAMPLES = env_int("PODIUM_LEARNED_MIN_SAMPLES", 20, minimum=2)
PODIUM_LEARNED_RETRAIN_EVERY = env_int("PODIUM_LEARNED_RETRAIN_EVERY", 10, minimum=1)
CELERY_BEAT_SCHEDULE["podium-escalations"] = {
    "task": "approvals.sweep_escalations",
    "schedule": PODIUM_ESCALATION_SWEEP_SECONDS,
}

# --- Production hardening --------------------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not memory, so a Celery worker started by a test sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-podium.sqlite3")}

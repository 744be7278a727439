"""Settings from the environment, with an embedded default that needs no server.

DATABASE_URL        default sqlite:///var/db.sqlite3
CELERY_BROKER_URL   default filesystem broker under var/broker (no server); redis://... at scale
SECRET_KEY, DEBUG, ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS, EXECUTION_TIMEOUT, EXECUTION_WORKERS,
CELERY_VISIBILITY_TIMEOUT, SWEEP_INTERVAL, STUCK_AFTER, LOG_FORMAT (text or json), SECURE_COOKIES,
SECURE_SSL_REDIRECT, SECURE_HSTS_*, BEHIND_TLS_PROXY, AXES_FAILURE_LIMIT, AXES_COOLOFF_MINUTES,
IMPORT_MAX_MB, CACHE_URL, HUB_LOOKUPS_PER_HOUR; README.md lists them all.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {
        "1",
        "true",
        "yes",
        "on",
    }


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
PRODUCTION = os.environ.get("DJANGO_ENV") == "production"
DEVELOPMENT_KEY = "insecure-development-key-set-SECRET_KEY-in-production"


def secret_key(value: str, production: bool) -> str:
    """The signing key: in production a real one of its own, or the process refuses to start.

    Production is DJANGO_ENV=production, which deploy/entrypoint.sh sets for every role (web,
    workers, beat, release) whatever the environment file says, so the Procfile and compose routes
    cannot fall back. There the key must be set, at least 50 characters with 5 distinct ones (what
    `check --deploy` asks), and not a placeholder ("change-me" of the example file, the development
    key). Anywhere else (`make run`, the tests, a management command in a checkout) an unset key
    is the public development key: such a process serves nobody but its developer.
    """
    placeholder = not value or "change-me" in value or value == DEVELOPMENT_KEY
    if production and (placeholder or len(value) < 50 or len(set(value)) < 5):
        raise ImproperlyConfigured(
            "SECRET_KEY must be set in production to a random value of its own, 50 characters or more "
            "(not the example's change-me): python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    return value or DEVELOPMENT_KEY


SECRET_KEY = secret_key(os.environ.get("SECRET_KEY", "").strip(), PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "leaderboard.runs",
    "grading",
    "leaderboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "leaderboard.middleware.RequestBodyLimitMiddleware",  # before CSRF, which reads a POST's body
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "leaderboard.middleware.ContentSecurityPolicyMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "leaderboard.urls"
WSGI_APPLICATION = "leaderboard.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Workers and the site write to one file: wait for locks instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed logins (/accounts/login/ and /admin/login/) are counted by django-axes in the database, per
# account and per address apart: AXES_FAILURE_LIMIT failures lock either out for AXES_COOLOFF_MINUTES.
# Axes' backend refuses a locked-out login before the password is checked.
AUTHENTICATION_BACKENDS = ["leaderboard.middleware.LoginThrottleBackend"]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "leaderboard.middleware.client_address"
AXES_RESET_ON_SUCCESS = False  # a success of one's own account must not clear the failures on another
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False  # no banner in every process's log; lockouts are still logged

# Request bodies: DATA_UPLOAD_MAX_MEMORY_SIZE caps every body but the staff's sample imports
# (IMPORT_MAX_BYTES), refused by RequestBodyLimitMiddleware before anything reads them; the reverse
# proxy (deploy/nginx.conf) caps them first. Uploaded files above 2.5 MB wait on disk, not in memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
DATA_UPLOAD_MAX_NUMBER_FILES = 5
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_MB", "200")) * 1024 * 1024

# No inline script anywhere (data for scripts goes in json_script blocks); Plotly sets inline styles.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

# The cache holds per-user counters (hub look-ups): per process by default, shared when CACHE_URL
# names a Redis (the example production environment uses the broker's Redis, database 1).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["CACHE_URL"]}
    if os.environ.get("CACHE_URL")
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns at start when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedStaticFilesStorage"
    },
}
# Finders would otherwise override the compressed collected files in production.
WHITENOISE_USE_FINDERS = not PRODUCTION

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Behind a proxy that terminates TLS (BEHIND_TLS_PROXY=1): https redirect, HSTS, the proxy's header.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# HSTS for every subdomain and the browsers' preload list are each domain's own choice: set in the
# environment (0 or 1), it is a decision that `check --deploy` need not warn of; unset, it warns.
SILENCED_SYSTEM_CHECKS = [
    check
    for name, check in (
        ("SECURE_HSTS_INCLUDE_SUBDOMAINS", "security.W005"),
        ("SECURE_HSTS_PRELOAD", "security.W021"),
    )
    if name in os.environ
]
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)  # its X-Real-IP also names the visitor
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Celery: the embedded default is a broker on the file system, so one machine needs no server.
_BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for folder in ("queue", "processed", "control"):
        (_BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # Longer than the longest task (docs/deployment.md works out the numbers), so a running task is
    # not handed out twice; a killed worker's unacknowledged task comes back to another worker after it.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600")),
        "socket_timeout": 30,
        "socket_connect_timeout": 10,
    }
    if os.environ.get("CELERY_BROKER_PREFIX"):
        # Sessions sharing one Redis (test runs side by side) keep their queues apart.
        CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = os.environ["CELERY_BROKER_PREFIX"]
CELERY_TASK_ROUTES = {
    "leaderboard.runs.tasks.generate_*": {"queue": "generation"},
    "leaderboard.runs.tasks.execute_*": {"queue": "execution"},
}
CELERY_TASK_DEFAULT_QUEUE = "execution"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker waits out a broker restart instead of exiting; a publish retries for about 10 seconds.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 5,
    "interval_start": 0.5,
    "interval_step": 1,
    "interval_max": 3,
}
# A batch running when the broker connection drops goes on: the verdicts it stores are kept.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# Workers keep Django's LOGGING (LOG_FORMAT=json: one JSON object per line with run and task ids).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# The periodic sweep (one `celery beat`): runs without progress for STUCK_AFTER seconds whose queues
# are empty get their missing work sent again. STUCK_AFTER stays below the visibility timeout.
SWEEP_INTERVAL = float(os.environ.get("SWEEP_INTERVAL", "300"))
# A run whose tasks failed is sent again this many times, then failed with its reason.
SWEEP_ATTEMPTS = int(os.environ.get("SWEEP_ATTEMPTS", "3"))
CELERY_BEAT_SCHEDULE = {
    "sweep-stuck-runs": {
        "task": "leaderboard.runs.tasks.sweep_stuck_runs",
        "schedule": SWEEP_INTERVAL,
        "kwargs": {"stuck_after": float(os.environ.get("STUCK_AFTER", "900"))},
        "options": {"expires": SWEEP_INTERVAL},
    }
}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# Execution: the Codex paper's 3 seconds per sample; workers = sandbox slots per worker process.
EXECUTION_TIMEOUT = float(os.environ.get("EXECUTION_TIMEOUT", "3"))
EXECUTION_WORKERS = int(os.environ.get("EXECUTION_WORKERS", "0")) or None
EXECUTION_BATCH_SIZE = int(os.environ.get("EXECUTION_BATCH_SIZE", "200"))
# Generation: samples of one problem per task; one model per worker process (GENERATION_DEVICE: auto).
GENERATION_CHUNK_SIZE = int(os.environ.get("GENERATION_CHUNK_SIZE", "20"))
# Submissions through the web form.
SUBMISSIONS_PER_WEEK = int(os.environ.get("SUBMISSIONS_PER_WEEK", "5"))
SUBMISSIONS_NEED_APPROVAL = env_bool("SUBMISSIONS_NEED_APPROVAL", True)
SUBMISSION_MODEL_ROOTS = env_list("SUBMISSION_MODEL_ROOTS", str(VAR_DIR / "models"))  # folders workers share
HUB_URL = os.environ.get("HUB_URL", "https://huggingface.co")
HUB_TIMEOUT = float(os.environ.get("HUB_TIMEOUT", "3"))
HUB_LOOKUPS_PER_HOUR = int(os.environ.get("HUB_LOOKUPS_PER_HOUR", "20"))  # per user, by the submit form
# Grading: how long a claimed docstring stays with its annotator, and one hidden gold item every N.
GRADING_CLAIM_SECONDS = int(os.environ.get("GRADING_CLAIM_SECONDS", "600"))
GRADING_GOLD_EVERY = int(os.environ.get("GRADING_GOLD_EVERY", "10"))
# A reproducible share of every run's items gets this many grades, so agreement is always measured.
GRADING_AGREEMENT_SHARE = float(os.environ.get("GRADING_AGREEMENT_SHARE", "0.2"))
GRADING_AGREEMENT_TARGET = int(os.environ.get("GRADING_AGREEMENT_TARGET", "2"))
# An OpenAI-compatible server (vLLM, TGI, or `python -m evaluation.generation.server`) shared by workers.
GENERATION_ENDPOINT = os.environ.get("GENERATION_ENDPOINT", "")

LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "[%(asctime)s: %(levelname)s/%(processName)s] %(name)s: %(message)s"},
        "json": {"()": "leaderboard.runs.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json" if LOG_FORMAT == "json" else "text"}
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

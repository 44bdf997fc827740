"""Sonda settings, driven by environment variables (see README, "Configuration")."""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SONDA_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("SONDA_DEBUG")
TESTING = env_bool("SONDA_TESTING")


def _secret_key() -> str:
    key = os.environ.get("SONDA_SECRET_KEY", "")
    key_file = os.environ.get("SONDA_SECRET_KEY_FILE", "")
    if not key and key_file:
        key = Path(key_file).read_text().strip()
    if key:
        return key
    if DEBUG or TESTING:
        # Development and test runs only: production has no default secret.
        return "sonda-insecure-development-key-not-for-production-use-0123456789"
    raise ImproperlyConfigured("SONDA_SECRET_KEY (or SONDA_SECRET_KEY_FILE) must be set")


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("SONDA_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("SONDA_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "sonda.core",
    "sonda.accounts",
    "sonda.org",
    "sonda.customers",
    "sonda.surveys",
    "sonda.listening",
    "sonda.loop",
    "sonda.analytics",
    "sonda.imports",
    "sonda.privacy",
    "sonda.webhooks",
    "sonda.demo",
    "sonda.api",
    "sonda.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "sonda.core.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "sonda.accounts.middleware.OrganisationScopeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sonda.web.context_processors.navigation",
            ],
        },
    },
]

# One URL chooses the operational database; SQLite under var/ is the embedded default.
DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'sonda.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("SONDA_DATABASE_URL", DEFAULT_DATABASE_URL), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web server and the job worker read while the other writes.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("SONDA_TEST_SQLITE_NAME", "")}
else:
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("SONDA_TEST_DATABASE_NAME", "sonda_test"),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ro", _("Romanian")), ("pl", _("Polish"))]
LOCALE_PATHS = [BASE_DIR / "sonda" / "locale"]
USE_I18N = True
TIME_ZONE = os.environ.get("SONDA_TIME_ZONE", "UTC")
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS: list[Path] = []
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Email: SMTP by default; the console backend prints messages in development.
EMAIL_BACKEND = os.environ.get(
    "SONDA_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("SONDA_EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("SONDA_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("SONDA_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("SONDA_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("SONDA_EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("SONDA_EMAIL_USE_SSL")
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("SONDA_EMAIL_FROM", "Sonda <sonda@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where the file-based email backend writes (`sonda run` uses it, so demo mail stays here).
EMAIL_FILE_PATH = os.environ.get("SONDA_EMAIL_FILE_PATH", str(VAR_DIR / "mail"))

TASKS = {
    "default": {
        "BACKEND": os.environ.get("SONDA_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# Security: production (SONDA_DEBUG off) sends cookies only over HTTPS.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# SONDA_SECURE_COOKIES=0 lets the embedded default (`make run`) sign in over plain HTTP on loopback.
SECURE_COOKIES = env_bool("SONDA_SECURE_COOKIES", default=not DEBUG and not TESTING)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env_bool("SONDA_SSL_REDIRECT", default=not DEBUG and not TESTING)
SECURE_HSTS_SECONDS = int(os.environ.get("SONDA_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SONDA_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("SONDA_HSTS_PRELOAD")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# Joining the browsers' HSTS preload list binds every subdomain for months: an operator's decision
# (SONDA_HSTS_PRELOAD=1), not a default, so the check that asks for it is silenced.
SILENCED_SYSTEM_CHECKS: list[str] = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("SONDA_LOG_LEVEL", "INFO")},
}

# Sonda's own settings.
SONDA_PAGE_SIZE = 50
SONDA_MAX_PAGE_SIZE = 500

# Listening delivery: links in messages, and the SMS provider.
# The absolute address respondents reach Sonda on; survey and unsubscribe links start with it.
SONDA_PUBLIC_URL = os.environ.get("SONDA_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# "logging" writes each SMS to the log (development); "http" posts it to SONDA_SMS_URL.
SONDA_SMS_PROVIDER = os.environ.get("SONDA_SMS_PROVIDER", "logging")
SONDA_SMS_URL = os.environ.get("SONDA_SMS_URL", "")
SONDA_SMS_TOKEN = os.environ.get("SONDA_SMS_TOKEN", "")
SONDA_SMS_SENDER = os.environ.get("SONDA_SMS_SENDER", "Sonda")
SONDA_SMS_WEBHOOK_SECRET = os.environ.get("SONDA_SMS_WEBHOOK_SECRET", "")
SONDA_SMS_TIMEOUT = float(os.environ.get("SONDA_SMS_TIMEOUT", "10"))

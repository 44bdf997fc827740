"""Settings for the test suite: the production settings with SONDA_TESTING on."""

import os

os.environ["SONDA_TESTING"] = "1"
os.environ.setdefault("SONDA_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")

from config.settings import *  # noqa: F403

# Static files come from the apps' folders through the finders; no collected copy is needed.
STATIC_ROOT = None  # type: ignore[assignment]

# pytest captures log records itself; a console handler would keep writing to a stream pytest has
# already closed (the loopback SMTP server logs from its own thread after a test ends).
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}

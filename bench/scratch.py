"""What the benchmarks share: a scratch PostgreSQL database created and dropped by the run, and
the environment of a child process that runs one engine's half with production settings."""

import os
import secrets
from urllib.parse import urlsplit, urlunsplit

import psycopg


def postgres_scratch(admin_url: str, name: str) -> str:
    """Create the scratch database `name` afresh; its URL."""
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def postgres_drop(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def child_environment(url: str, var_dir: str) -> dict[str, str]:
    """Production settings on the database at `url`, with a throwaway secret key."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SONDA_DATABASE_URL": url,
        "SONDA_SECRET_KEY": secrets.token_urlsafe(32),
        "SONDA_VAR_DIR": var_dir,
        "SONDA_LOG_LEVEL": "WARNING",
    }
    for name in ("SONDA_DEBUG", "SONDA_TESTING"):
        env.pop(name, None)  # DEBUG would keep every query in memory
    return env

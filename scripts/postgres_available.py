"""Exit 0 when the test PostgreSQL server answers; otherwise print why its run is skipped."""

import os
import sys

import psycopg

url = os.environ.get("SONDA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
try:
    with psycopg.connect(url, connect_timeout=3) as conn:
        conn.execute("select 1")
except Exception as exc:
    print(f"SKIPPED the PostgreSQL test run: no server answers at {url} ({exc})")
    sys.exit(1)
print(f"Running the test suite again on PostgreSQL at {url}")

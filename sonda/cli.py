"""The `sonda` command: a thin front over Django's management commands, and `sonda run`.

`sonda run` is the embedded setup behind `make run`: SQLite under var/, the demo organisation on
first start, gunicorn, the job worker and the listening clock side by side, all stopped by one
Ctrl-C (ADR 0002). Email goes to files under var/mail, so demo invitations never leave the machine.
"""

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import django
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError

BASE_DIR = Path(__file__).resolve().parent.parent
USAGE_ERROR = 2
DEFAULT_PORT = 8000
# Commands handed to Django as they are, options and all.
PASSTHROUGH = {"manage", "migrate", "check"}
# What the embedded setup needs and production must not assume (see ADR 0002).
EMBEDDED_DEFAULTS = {
    "SONDA_SECURE_COOKIES": "0",
    "SONDA_SSL_REDIRECT": "0",
    "SONDA_HSTS_SECONDS": "0",
    "SONDA_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
    "SONDA_ALLOWED_HOSTS": "127.0.0.1,localhost",
}
STARTUP_SECONDS = 60
STOP_SECONDS = 20


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sonda",
        description="Sonda, customer experience management. Settings come from SONDA_* "
        "environment variables (see the README).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="migrate, create the demo on first start, serve on http://127.0.0.1:8000 "
        "with the job worker and the listening clock (Ctrl-C stops them all)",
    )
    run.add_argument(
        "--port", type=int, default=None, help=f"port to serve on (SONDA_PORT, {DEFAULT_PORT})"
    )

    commands.add_parser(
        "demo",
        help="create the demo organisations unless they exist and print the demo logins "
        "(--scale tiny|small|full, --seed N)",
    )

    importing = commands.add_parser(
        "import",
        help="import units, people, customers or survey responses from a CSV file "
        "(every row or none), or interaction events from CSV, NDJSON or Parquet",
    )
    importing.add_argument("kind", choices=["units", "people", "customers", "responses", "events"])
    importing.add_argument("file", help="the file (CSV: UTF-8, header row); - reads stdin")
    importing.add_argument("--organisation", required=True, metavar="SLUG")
    importing.add_argument(
        "--user", metavar="EMAIL", help="member to act as (default: the first admin)"
    )
    importing.add_argument(
        "--region", metavar="CC", help="customers: country of national phone numbers (RO)"
    )
    importing.add_argument(
        "--survey", type=int, metavar="ID", help="responses: the survey they answer"
    )
    importing.add_argument(
        "--mapping", metavar="M.json", help="responses: the JSON mapping of the file's columns"
    )
    importing.add_argument(
        "--skip-invalid",
        action="store_true",
        help="responses: import the valid rows and report the invalid ones",
    )
    importing.add_argument("--dry-run", action="store_true", help="check and count only")
    importing.add_argument(
        "--format",
        dest="file_format",
        choices=["csv", "ndjson", "parquet"],
        help="events: the file's format (default: from its extension)",
    )

    rules = commands.add_parser("rules", help="trigger rules: a dry run over past events")
    rule_actions = rules.add_subparsers(dest="action", required=True, metavar="ACTION")
    simulate = rule_actions.add_parser(
        "simulate",
        help="what the active rules (and those named with --rule) would have sent over a "
        "period: invitations per day and unit, skips by reason, expected responses, margins",
    )
    simulate.add_argument("--organisation", required=True, metavar="SLUG")
    simulate.add_argument("--from", dest="date_from", required=True, metavar="YYYY-MM-DD")
    simulate.add_argument("--to", dest="date_to", required=True, metavar="YYYY-MM-DD")
    simulate.add_argument(
        "--rule", type=int, action="append", default=[], metavar="ID", help="also this rule"
    )
    simulate.add_argument("--margin", metavar="POINTS", help="NPS margin to aim for (5)")
    simulate.add_argument("--user", metavar="EMAIL", help="member to act as")
    simulate.add_argument("--json", action="store_true", help="print the result as JSON")

    exporting = commands.add_parser(
        "export",
        help="export answers or responses to CSV or Parquet, streamed with a progress bar",
    )
    exporting.add_argument("what", choices=["answers", "responses"])
    exporting.add_argument("--organisation", required=True, metavar="SLUG")
    exporting.add_argument("--format", required=True, choices=["csv", "parquet"])
    exporting.add_argument("--out", required=True, metavar="FILE")
    exporting.add_argument("--survey", type=int, metavar="ID", help="one survey only")
    exporting.add_argument(
        "--from", dest="date_from", metavar="DATE", help="completed on or after (2026-01-31)"
    )
    exporting.add_argument("--to", dest="date_to", metavar="DATE", help="completed on or before")
    exporting.add_argument(
        "--user", metavar="EMAIL", help="member to act as (default: the first admin)"
    )
    exporting.add_argument("--chunk-size", metavar="N", help="rows read and written at a time")

    reporting = commands.add_parser(
        "report",
        help="write a period's self-contained HTML report (and the by-unit table as CSV)",
    )
    reporting.add_argument("--organisation", required=True, metavar="SLUG")
    reporting.add_argument(
        "--period", required=True, help="2026-Q3, 2026-09, 2026 or the ISO week 2026-W36"
    )
    reporting.add_argument("--unit", metavar="CODE", help="a unit and its subtree")
    reporting.add_argument("--out", required=True, metavar="FILE", help="the HTML file")
    reporting.add_argument("--csv", metavar="FILE", help="also the by-unit table as CSV")
    reporting.add_argument("--question", metavar="KEY", help="the main question (default: NPS)")
    reporting.add_argument(
        "--user", metavar="EMAIL", help="member to report as (default: the first admin)"
    )

    token = commands.add_parser("token", help="create, revoke or list personal API tokens")
    actions = token.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="issue a token; prints its secret once")
    create.add_argument("--organisation", required=True, metavar="SLUG")
    create.add_argument("--user", required=True, metavar="EMAIL")
    create.add_argument("--name", required=True)
    revoke = actions.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("--organisation", required=True, metavar="SLUG")
    revoke.add_argument("--id", required=True, type=int, metavar="N")
    listing = actions.add_parser("list", help="list the organisation's tokens")
    listing.add_argument("--organisation", required=True, metavar="SLUG")

    commands.add_parser("migrate", help="apply database migrations (Django's migrate)")
    commands.add_parser("check", help="check the configuration (e.g. sonda check --deploy)")
    commands.add_parser("manage", help="run any Django management command: sonda manage CMD ...")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    parser = build_parser()
    if args and args[0] in PASSTHROUGH:
        command = args[1:] if args[0] == "manage" else args
        try:
            _setup(embedded=False)
        except ImproperlyConfigured as exc:
            _error(exc)
            return USAGE_ERROR
        execute_from_command_line(["sonda manage", *command])
        return 0
    options, extra = parser.parse_known_args(args)
    if extra and options.command != "demo":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        if options.command == "run":
            return run(port=options.port)
        _setup(embedded=False)
        if options.command == "demo":
            call_command("demo", *extra)
        elif options.command == "import" and options.kind == "events":
            call_command("import_events", *_events_arguments(options))
        elif options.command == "import":
            call_command("import_csv", *_import_arguments(options))
        elif options.command == "rules":
            call_command("rules_simulate", *_simulate_arguments(options))
        elif options.command == "export":
            call_command("export", *_export_arguments(options))
        elif options.command == "report":
            call_command("report", *_report_arguments(options))
        elif options.command == "token":
            call_command("token", *_token_arguments(options))
    except (CommandError, ImproperlyConfigured) as exc:
        _error(exc)
        return USAGE_ERROR
    except KeyboardInterrupt:
        return 130
    return 0


def _error(error: Exception) -> None:
    message = str(error)
    if isinstance(error, ImproperlyConfigured) and "SONDA_SECRET_KEY" in message:
        message += " (`sonda run` generates one into var/secret_key for the embedded setup)"
    sys.stderr.write(f"sonda: error: {message}\n")


def _import_arguments(options: argparse.Namespace) -> list[str]:
    if options.file_format:
        raise CommandError("--format: applies to events only (other imports read CSV)")
    arguments = [options.kind, options.file, "--organisation", options.organisation]
    if options.user:
        arguments += ["--user", options.user]
    if options.region:
        arguments += ["--region", options.region]
    if options.survey is not None:
        arguments += ["--survey", str(options.survey)]
    if options.mapping:
        arguments += ["--mapping", options.mapping]
    if options.skip_invalid:
        arguments.append("--skip-invalid")
    if options.dry_run:
        arguments.append("--dry-run")
    return arguments


def _events_arguments(options: argparse.Namespace) -> list[str]:
    for option, value in (
        ("--survey", options.survey),
        ("--mapping", options.mapping),
        ("--region", options.region),
        ("--skip-invalid", options.skip_invalid or None),
        ("--dry-run", options.dry_run or None),
    ):
        if value is not None:
            raise CommandError(f"{option}: does not apply to events")
    arguments = [options.file, "--organisation", options.organisation]
    if options.user:
        arguments += ["--user", options.user]
    if options.file_format:
        arguments += ["--format", options.file_format]
    return arguments


def _simulate_arguments(options: argparse.Namespace) -> list[str]:
    arguments = ["--organisation", options.organisation]
    arguments += ["--from", options.date_from, "--to", options.date_to]
    for rule_id in options.rule:
        arguments += ["--rule", str(rule_id)]
    if options.margin is not None:
        arguments += ["--margin", options.margin]
    if options.user:
        arguments += ["--user", options.user]
    if options.json:
        arguments.append("--json")
    return arguments


def _export_arguments(options: argparse.Namespace) -> list[str]:
    arguments = [
        options.what,
        "--organisation",
        options.organisation,
        "--format",
        options.format,
        "--out",
        options.out,
    ]
    for flag, value in (
        ("--survey", options.survey),
        ("--from", options.date_from),
        ("--to", options.date_to),
        ("--user", options.user),
        ("--chunk-size", options.chunk_size),
    ):
        if value is not None:
            arguments += [flag, str(value)]
    return arguments


def _report_arguments(options: argparse.Namespace) -> list[str]:
    arguments = ["--organisation", options.organisation, "--period", options.period]
    arguments += ["--out", options.out]
    for flag, value in (
        ("--unit", options.unit),
        ("--csv", options.csv),
        ("--question", options.question),
        ("--user", options.user),
    ):
        if value is not None:
            arguments += [flag, str(value)]
    return arguments


def _token_arguments(options: argparse.Namespace) -> list[str]:
    arguments = [options.action, "--organisation", options.organisation]
    if options.action == "create":
        arguments += ["--user", options.user, "--name", options.name]
    elif options.action == "revoke":
        arguments += ["--id", str(options.id)]
    return arguments


def var_dir() -> Path:
    return Path(os.environ.get("SONDA_VAR_DIR") or BASE_DIR / "var")


def _setup(*, embedded: bool) -> None:
    """Configure Django; the embedded setup first fills in the defaults it needs."""
    directory = var_dir()
    key_file = directory / "secret_key"
    has_key = os.environ.get("SONDA_SECRET_KEY") or os.environ.get("SONDA_SECRET_KEY_FILE")
    # The embedded database lives here; SQLite does not create missing folders.
    directory.mkdir(parents=True, exist_ok=True)
    if embedded:
        for name, value in EMBEDDED_DEFAULTS.items():
            os.environ.setdefault(name, value)
        if not has_key:
            _ensure_secret_key(key_file)
    if not has_key and key_file.exists():
        # Commands run beside `sonda run` (imports, tokens) use the key it generated.
        os.environ["SONDA_SECRET_KEY_FILE"] = str(key_file)
    django.setup()


def _ensure_secret_key(path: Path) -> None:
    """Generate the embedded setup's secret key once, readable by its owner only."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(descriptor, "w") as key:
        key.write(secrets.token_urlsafe(64) + "\n")


def run(*, port: int | None = None) -> int:
    """Serve the embedded setup until Ctrl-C or SIGTERM (exit 0) or until a child dies (exit 1)."""
    port = port or int(os.environ.get("SONDA_PORT") or DEFAULT_PORT)
    # Links in the demo's invitations point at this server.
    os.environ.setdefault("SONDA_PUBLIC_URL", f"http://127.0.0.1:{port}")
    _setup(embedded=True)
    _say("Preparing the database…")
    call_command("migrate", interactive=False, verbosity=0)
    if not apps.get_model("accounts", "Organisation").objects.exists():
        call_command("demo")
    call_command("collectstatic", interactive=False, verbosity=0)

    stop_signal: list[int] = []

    def on_stop(signum: int, frame: FrameType | None) -> None:
        stop_signal.append(signum)

    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGTERM, on_stop)
    # Each child gets its own process group: Ctrl-C reaches only `sonda run`, which then stops
    # the children one signal each, so neither takes a second Ctrl-C as "force quit".
    children = {
        "web server": subprocess.Popen(_web_command(port), cwd=BASE_DIR, process_group=0),
        "job worker": subprocess.Popen(_worker_command(), cwd=BASE_DIR, process_group=0),
        "listening clock": subprocess.Popen(_clock_command(), cwd=BASE_DIR, process_group=0),
    }
    ready = False
    started = time.monotonic()
    died: tuple[str, int] | None = None
    while not stop_signal and died is None:
        for name, child in children.items():
            code = child.poll()
            if code is not None:
                died = (name, code)
                break
        if died is None and not ready:
            if _answers(port):
                ready = True
                _say(_banner(port))
            elif time.monotonic() - started > STARTUP_SECONDS:
                died = ("web server", -1)
        time.sleep(0.2)
    _stop(children)
    if died is not None and not stop_signal:
        name, code = died
        sys.stderr.write(f"sonda: the {name} stopped (exit code {code}); stopped Sonda.\n")
        return 1
    _say("Sonda stopped.")
    return 0


def _web_command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--threads",
        "4",
        "--graceful-timeout",
        "10",
        # The control socket lives in the home directory: two Sondas on one machine would clash.
        "--no-control-socket",
    ]


def _worker_command() -> list[str]:
    return [sys.executable, str(BASE_DIR / "manage.py"), "db_worker", "--no-reload"]


def _clock_command() -> list[str]:
    return [sys.executable, str(BASE_DIR / "manage.py"), "listening_clock"]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _banner(port: int) -> str:
    # The demo's module loads models, so it can be imported only once Django is set up.
    from sonda.demo.generator import DEMO_LOGINS, DEMO_ORGANISATION_SLUG

    url = f"http://127.0.0.1:{port}"
    organisations = apps.get_model("accounts", "Organisation").objects
    if not organisations.filter(slug=DEMO_ORGANISATION_SLUG).exists():
        return f"Sonda is running on {url}\nPress Ctrl-C to stop."
    email, password, _ = DEMO_LOGINS[0]
    return f"Sonda is running on {url} — sign in as {email} / {password}\nPress Ctrl-C to stop."


def _stop(children: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM to each running child, then wait; a child that does not stop in time is killed."""
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _say(message: str) -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())

"""`manage.py rules_simulate --organisation SLUG [--rule ID ...] --from DATE --to DATE`.

The dry run of trigger rules over past events: nothing is written.
"""

import json
from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sonda.core.errors import SondaError
from sonda.imports.selectors import operator_scope
from sonda.listening.models import SkipReason
from sonda.listening.simulation import Simulation, simulate_rules

USAGE_ERROR = 2
OPTION_OF_FIELD = {
    "date_from": "--from",
    "date_to": "--to",
    "rule_ids": "--rule",
    "margin_target": "--margin",
}


class Command(BaseCommand):
    help = (
        "Run the trigger rules over the events of a period without sending or writing anything: "
        "invitations per unit and month, expected responses, the NPS margin of error they would "
        "give, and why the others would be skipped. Simulates the active rules and the ones named "
        "with --rule (even paused)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--organisation", required=True, metavar="SLUG", help="the organisation"
        )
        parser.add_argument(
            "--rule",
            type=int,
            action="append",
            default=[],
            metavar="ID",
            help="a trigger rule to simulate as if switched on (repeat for several)",
        )
        parser.add_argument(
            "--from", dest="date_from", required=True, metavar="YYYY-MM-DD", help="first day"
        )
        parser.add_argument(
            "--to", dest="date_to", required=True, metavar="YYYY-MM-DD", help="last day"
        )
        parser.add_argument(
            "--margin",
            type=float,
            default=5.0,
            metavar="POINTS",
            help="the NPS margin of error to aim for (default ±5 points)",
        )
        parser.add_argument(
            "--user",
            metavar="EMAIL",
            help="the admin or analyst to act as (default: the organisation's first admin)",
        )
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(
        self,
        *,
        organisation: str,
        rule: list[int],
        date_from: str,
        date_to: str,
        margin: float,
        user: str | None,
        json: bool,
        **options: Any,
    ) -> None:
        first = _date("--from", date_from)
        last = _date("--to", date_to)
        if last < first:
            raise CommandError("--to: must not be before --from", returncode=USAGE_ERROR)
        if margin <= 0:
            raise CommandError("--margin: must be more than 0", returncode=USAGE_ERROR)
        try:
            scope = operator_scope(organisation_slug=organisation, user_email=user)
            simulation = simulate_rules(
                scope=scope, rule_ids=rule, date_from=first, date_to=last, margin_target=margin
            )
        except SondaError as exc:
            raise CommandError(_option_message(exc), returncode=USAGE_ERROR) from exc
        if json:
            self.stdout.write(_json(simulation))
        else:
            self.stdout.write(render(simulation))


def _date(option: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(
            f"{option}: '{value}' is not a date (YYYY-MM-DD)", returncode=USAGE_ERROR
        ) from exc


def _json(simulation: Simulation) -> str:
    return json.dumps(simulation.as_dict(), default=str, indent=2, ensure_ascii=False)


def _option_message(error: SondaError) -> str:
    if not error.errors:
        return error.detail
    return "; ".join(f"{OPTION_OF_FIELD.get(e.field, e.field)}: {e.message}" for e in error.errors)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)
    ]
    numeric = [all(_is_number(row[i]) for row in rows) and bool(rows) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            str(cell).rjust(width) if right else str(cell).ljust(width)
            for cell, width, right in zip(cells, widths, numeric, strict=True)
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def _is_number(cell: str) -> bool:
    return (
        cell.replace(".", "", 1).replace("±", "").replace("%", "").strip().isdigit() or cell == "—"
    )


def _reason(reason: str) -> str:
    return str(SkipReason(reason).label) if reason in SkipReason.values else reason


def render(simulation: Simulation) -> str:
    """Readable tables: rules, per unit and month, channels, skips, rates, notes."""
    parts = [
        (
            f"Dry run over {simulation.date_from} – {simulation.date_to}: "
            f"{simulation.events} events, {simulation.invitations} invitations, about "
            f"{simulation.expected_responses:g} responses (nothing was written)."
        )
    ]
    parts.append(
        "Rules\n"
        + _table(
            ["id", "rule", "status", "survey", "invitations", "skipped"],
            [
                [
                    str(r.rule_id),
                    r.name,
                    r.status if not r.left_out else f"{r.status} (left out)",
                    r.survey_name,
                    str(r.invitations),
                    str(sum(r.skips.values())),
                ]
                for r in simulation.rules
            ],
        )
    )
    if simulation.by_unit_month:
        parts.append(
            "Per unit and month\n"
            + _table(
                [
                    "month",
                    "unit",
                    "survey",
                    "invitations",
                    "expected responses",
                    "margin",
                    f"needed for ±{simulation.margin_target:g}",
                ],
                [
                    [
                        row.month,
                        row.unit_name or "(no unit)",
                        row.survey_name,
                        str(row.invitations),
                        f"{row.expected_responses:g}",
                        f"±{row.margin:g}" if row.margin is not None else "—",
                        str(row.needed_responses),
                    ]
                    for row in simulation.by_unit_month
                ],
            )
        )
    if simulation.by_channel:
        parts.append(
            "Per channel\n"
            + _table(
                ["channel", "invitations"],
                [[channel, str(n)] for channel, n in simulation.by_channel.items()],
            )
        )
    if simulation.skips:
        parts.append(
            "Skips by reason\n"
            + _table(
                ["reason", "events"],
                [[_reason(reason), str(n)] for reason, n in simulation.skips.items()],
            )
        )
    if simulation.skips_by_contact_rule:
        parts.append(
            "Skips by contact rule\n"
            + _table(
                ["contact rule", "events"],
                [[name, str(n)] for name, n in simulation.skips_by_contact_rule.items()],
            )
        )
    if simulation.response_rates:
        parts.append(
            "Response rates\n"
            + _table(
                ["survey", "rate", "from"],
                [
                    [
                        rate.survey_name,
                        f"{rate.rate:.1%}" if rate.rate is not None else "—",
                        {
                            "survey": "the survey's history",
                            "organisation": "the organisation's history",
                        }.get(rate.source, "no history"),
                    ]
                    for rate in simulation.response_rates
                ],
            )
        )
    if simulation.notes:
        parts.append("Notes\n" + "\n".join(f"- {note}" for note in simulation.notes))
    return "\n\n".join(parts) + "\n"

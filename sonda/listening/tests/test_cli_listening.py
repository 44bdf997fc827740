"""`sonda import events FILE` and `sonda rules simulate`: the listening side of the CLI."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from sonda.cli import main
from sonda.listening.models import Event, Invitation, RuleStatus
from sonda.listening.tests.listening_factories import (
    EventFactory,
    TriggerRuleFactory,
    make_customer,
)
from sonda.surveys.tests.factories import make_published_survey

OCCURRED = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)


@pytest.fixture(autouse=True)
def no_embedded_secret_key(tmp_path, monkeypatch):
    # The command reads var/secret_key of an embedded setup; the tests have none.
    monkeypatch.setenv("SONDA_VAR_DIR", str(tmp_path / "var"))


def events_file(tmp_path, lines: list[dict[str, object]]):
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path


def purchase(n: int) -> dict[str, object]:
    return {
        "type": "purchase",
        "occurred_at": (OCCURRED + timedelta(seconds=n)).isoformat(),
        "customer": {"email": f"buyer{n}@mail.example"},
        "unit_code": "N1",
        "idempotency_key": f"order-{n}",
    }


def test_import_events_stores_them_and_the_active_rules_invite(world, tmp_path, capsys):
    survey = make_published_survey(world.scope(world.analyst))
    TriggerRuleFactory(survey=survey, status=RuleStatus.ACTIVE, event_types=["purchase"])
    path = events_file(tmp_path, [purchase(1), purchase(2)])

    code = main(["import", "events", str(path), "--organisation", "banca"])

    assert code == 0, capsys.readouterr().err
    assert Event.objects.filter(organisation=world.org).count() == 2
    assert Invitation.objects.filter(organisation=world.org, survey=survey).count() == 2
    assert "2" in capsys.readouterr().out


def test_importing_the_same_events_again_stores_and_invites_nothing_more(world, tmp_path):
    survey = make_published_survey(world.scope(world.analyst))
    TriggerRuleFactory(survey=survey, status=RuleStatus.ACTIVE, event_types=["purchase"])
    path = events_file(tmp_path, [purchase(1), purchase(2)])

    main(["import", "events", str(path), "--organisation", "banca"])
    main(["import", "events", str(path), "--organisation", "banca"])

    assert Event.objects.filter(organisation=world.org).count() == 2
    assert Invitation.objects.filter(organisation=world.org).count() == 2


def test_options_of_other_imports_are_refused_for_events(world, tmp_path, capsys):
    path = events_file(tmp_path, [purchase(1)])
    code = main(["import", "events", str(path), "--organisation", "banca", "--survey", "3"])
    assert code == 2
    assert "--survey: does not apply to events" in capsys.readouterr().err
    assert Event.objects.count() == 0


def test_a_format_is_only_for_events(world, tmp_path, capsys):
    path = tmp_path / "units.csv"
    path.write_text("code,name,type,parent_code\n")
    code = main(["import", "units", str(path), "--organisation", "banca", "--format", "csv"])
    assert code == 2
    assert "--format: applies to events only" in capsys.readouterr().err


def test_rules_simulate_prints_what_a_paused_rule_would_have_sent(world, capsys):
    survey = make_published_survey(world.scope(world.analyst))
    rule = TriggerRuleFactory(survey=survey, status=RuleStatus.PAUSED)
    for hour in range(3):
        EventFactory(
            organisation=world.org,
            customer=make_customer(world.org),
            occurred_at=datetime(2026, 1, 5, 9 + hour, tzinfo=UTC),
            unit=world.north_branch,
        )
    arguments = ["rules", "simulate", "--organisation", "banca"]
    arguments += ["--from", "2026-01-01", "--to", "2026-01-31", "--rule", str(rule.pk), "--json"]

    code = main(arguments)

    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out)
    assert result["invitations"] == 3
    assert sum(row["invitations"] for row in result["by_day_unit_channel"]) == 3
    assert Invitation.objects.count() == 0


def test_rules_simulate_with_a_bad_date_exits_2_naming_the_option(world, capsys):
    code = main(["rules", "simulate", "--organisation", "banca", "--from", "1 Jan", "--to", "x"])
    assert code == 2
    assert "--from" in capsys.readouterr().err

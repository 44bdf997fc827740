"""The operational engine: analytics reads Django's own connection, in the request's transaction."""

import pytest
from django.db import connection

from sonda.analytics.engine import ANSWER_SCHEMA, answers_relation, operational_engine
from sonda.analytics.scope import scoped_answers
from sonda.analytics.tests.analytics_data import generate, measured_survey
from sonda.org.models import Unit
from sonda.surveys.models import Answer


@pytest.fixture
def survey(world):
    return measured_survey(world.scope(world.analyst))


def test_the_operational_engine_is_the_database_django_uses(world):
    engine = operational_engine()
    assert engine.name == {"sqlite": "sqlite", "postgresql": "postgres"}[connection.vendor]


def test_analytics_sees_answers_written_earlier_in_the_same_transaction(world, survey):
    generate(survey, responses=12, units=[world.north_branch], employees=[None])
    engine = operational_engine()
    table = answers_relation(engine)
    rows = engine.run(table.aggregate(n=table.count()))
    assert rows == [{"n": Answer.objects.count()}]
    assert rows[0]["n"] == 12 * 5


def test_every_column_analytics_reads_exists_on_the_answers_table(world, survey):
    generate(survey, responses=1, units=[world.north_branch], employees=[None])
    engine = operational_engine()
    table = answers_relation(engine)
    [row] = engine.run(table.limit(1))
    assert set(ANSWER_SCHEMA.names) <= set(row)
    assert row["value_number"] is not None
    assert row["unit_path"] == world.north_branch.path


def test_django_lookups_keep_their_case_rules_on_the_shared_connection(world):
    # SQLite's LIKE ignores case by default and Django's icontains relies on it; opening the
    # analytics engine on the same connection must not change that.
    scoped_answers(scope=world.scope(world.analyst))
    assert Unit.objects.filter(name__icontains="NORTH").count() == 2


def test_ibis_metadata_reads_leave_the_requests_transaction_open(world, survey):
    generate(survey, responses=2, units=[world.north_branch], employees=[None])
    engine = operational_engine()
    if connection.vendor != "sqlite":
        pytest.skip("Ibis's PostgreSQL backend nests its reads in savepoints already")
    assert connection.connection.in_transaction
    engine.backend.table(Answer._meta.db_table)
    assert connection.connection.in_transaction


def test_an_export_without_local_days_is_refused_with_what_to_do(world, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sonda.analytics.engine import duckdb_engine
    from sonda.core.errors import ValidationFailed

    old = tmp_path / "old.parquet"
    pq.write_table(pa.table({"response_id": [1], "unit_id": [None]}), old)
    with pytest.raises(ValidationFailed) as refused:
        duckdb_engine(old, organisation_id=world.org.pk, unit_paths={})
    assert refused.value.errors[0].field == "path"
    assert "export it again" in refused.value.errors[0].message


def test_the_same_query_is_compiled_once_and_another_literal_again(world, survey):
    from sonda.analytics import engine as engines
    from sonda.analytics.queries import Filters, measure_for, slices

    engines._COMPILED.clear()
    answers = scoped_answers(scope=world.scope(world.analyst))
    measure = measure_for(answers=answers, question_key="ltr")
    first = slices(answers, measure, filters=Filters(channel="sms"))
    compiled = len(engines._COMPILED)
    again = slices(answers, measure, filters=Filters(channel="sms"))
    assert len(engines._COMPILED) == compiled
    assert [s.tally for s in again] == [s.tally for s in first]
    slices(answers, measure, filters=Filters(channel="email"))
    assert len(engines._COMPILED) == compiled + 1

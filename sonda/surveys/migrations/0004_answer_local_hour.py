"""Answers keep their hour on the organisation's clock (sonda.core.calendar)."""

from django.db import migrations, models


def fill_local_hours(apps, schema_editor):
    from sonda.surveys.tallies import answers_recalendar

    Organisation = apps.get_model("accounts", "Organisation")
    for organisation_id, time_zone in Organisation.objects.values_list("pk", "time_zone"):
        # The hour only: the days are right, and rewriting them would move every tally twice.
        answers_recalendar(
            organisation_id=organisation_id, time_zone=time_zone, fields=("local_hour",)
        )


def reinstall_tallies(apps, schema_editor):
    # SQLite alters a column by rebuilding the table, which drops its triggers: put the
    # tallies' triggers back (every later migration that alters surveys_answer must too).
    from sonda.surveys.tallies import tallies_install

    tallies_install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_initial"),
        ("surveys", "0003_answer_key_day"),
    ]

    operations = [
        migrations.AddField(
            model_name="answer",
            name="local_hour",
            field=models.SmallIntegerField(null=True),
        ),
        migrations.RunPython(fill_local_hours, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="answer",
            name="local_hour",
            field=models.SmallIntegerField(),
        ),
        # With the hour, the index of analytics' date ranges covers queries by hour and by
        # employee on its own.
        migrations.RemoveIndex(model_name="answer", name="answer_key_day"),
        migrations.AddIndex(
            model_name="answer",
            index=models.Index(
                fields=[
                    "organisation",
                    "question_key",
                    "local_day",
                    "kind",
                    "local_hour",
                    "value_number",
                    "employee",
                ],
                name="answer_key_day",
            ),
        ),
        migrations.RunPython(reinstall_tallies, migrations.RunPython.noop),
    ]

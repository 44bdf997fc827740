"""Answers keep their local day; their daily tallies are kept by triggers (sonda.surveys.tallies)."""

from django.db import migrations, models


def fill_local_days(apps, schema_editor):
    from sonda.surveys.tallies import answers_recalendar

    Organisation = apps.get_model("accounts", "Organisation")
    for organisation_id, time_zone in Organisation.objects.values_list("pk", "time_zone"):
        answers_recalendar(organisation_id=organisation_id, time_zone=time_zone)


def install_tallies(apps, schema_editor):
    from sonda.surveys.tallies import tallies_install, tallies_rebuild

    tallies_install(schema_editor.connection)
    tallies_rebuild()


def uninstall_tallies(apps, schema_editor):
    from sonda.surveys.tallies import tallies_uninstall

    tallies_uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_initial"),
        ("surveys", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="answer",
            name="local_day",
            field=models.IntegerField(null=True),
        ),
        migrations.RunPython(fill_local_days, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="answer",
            name="local_day",
            field=models.IntegerField(),
        ),
        migrations.CreateModel(
            name="DailyTally",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("organisation_id", models.IntegerField()),
                ("question_key", models.CharField(max_length=40)),
                ("kind", models.CharField(max_length=16)),
                ("program_id", models.IntegerField()),
                ("survey_id", models.IntegerField()),
                ("unit_id", models.IntegerField()),
                ("unit_path", models.CharField(max_length=1000)),
                ("local_day", models.IntegerField()),
                ("is_complete", models.BooleanField()),
                ("n", models.IntegerField()),
                ("total", models.FloatField()),
                ("squares", models.FloatField()),
                ("c0", models.IntegerField()),
                ("c1", models.IntegerField()),
                ("c2", models.IntegerField()),
                ("c3", models.IntegerField()),
                ("c4", models.IntegerField()),
                ("c5", models.IntegerField()),
                ("c6", models.IntegerField()),
                ("c7", models.IntegerField()),
                ("c8", models.IntegerField()),
                ("c9", models.IntegerField()),
                ("c10", models.IntegerField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=(
                            "organisation_id",
                            "question_key",
                            "kind",
                            "survey_id",
                            "unit_id",
                            "unit_path",
                            "local_day",
                            "is_complete",
                        ),
                        name="daily_tally_key",
                    )
                ],
            },
        ),
        migrations.RunPython(install_tallies, uninstall_tallies),
    ]

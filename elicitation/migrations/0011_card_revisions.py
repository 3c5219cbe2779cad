# The card editor: every version of a card is kept, with who wrote it and whether it is a draft.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("elicitation", "0010_study_token_budgets"),
    ]

    operations = [
        migrations.AddField(
            model_name="cardproposal",
            name="author",
            field=models.CharField(
                choices=[("interviewer", "Interviewer"), ("participant", "Participant")],
                default="interviewer",
                max_length=12,
            ),
        ),
        migrations.AddField(
            model_name="cardproposal",
            name="is_draft",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="cardproposal",
            name="problems",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="cardproposal",
            name="revises",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="revisions",
                to="elicitation.cardproposal",
            ),
        ),
        migrations.AlterField(
            model_name="cardproposal",
            name="title",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AlterField(
            model_name="cardproposal",
            name="description",
            field=models.TextField(blank=True),
        ),
    ]

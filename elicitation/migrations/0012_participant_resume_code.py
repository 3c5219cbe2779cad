# A resume code per participant (only its keyed hash), to continue in another browser.

from django.db import migrations, models
from django.db.models import Q


class Migration(migrations.Migration):
    dependencies = [
        ("elicitation", "0011_card_revisions"),
    ]

    operations = [
        migrations.AddField(
            model_name="participant",
            name="resume_code_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddConstraint(
            model_name="participant",
            constraint=models.UniqueConstraint(
                condition=~Q(resume_code_hash=""),
                fields=("study", "resume_code_hash"),
                name="participant_resume_code_once",
            ),
        ),
    ]

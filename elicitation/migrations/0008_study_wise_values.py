from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("elicitation", "0007_study_membership"),
    ]

    operations = [
        migrations.AddField(
            model_name="study",
            name="wise_values_shown",
            field=models.PositiveIntegerField(
                default=6, help_text="Values each participant is shown to pick from"
            ),
        ),
        migrations.AddField(
            model_name="study",
            name="wise_values_required",
            field=models.PositiveIntegerField(
                default=2, help_text="Values each participant must pick as wise"
            ),
        ),
    ]

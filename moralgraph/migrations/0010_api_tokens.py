# Staff-issued tokens for the values API (/api/v1/). The study table exists since elicitation's
# first migration, which 0009 already depends on.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('moralgraph', '0009_trust_exclusion_supersession'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ApiToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=80)),
                ('token_hash', models.CharField(max_length=64, unique=True)),
                ('hint', models.CharField(help_text="the token's first characters", max_length=16)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('last_used_at', models.DateTimeField(blank=True, null=True)),
                ('revoked_at', models.DateTimeField(blank=True, null=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('study', models.ForeignKey(blank=True, help_text='empty: every study', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='elicitation.study')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
            },
        ),
    ]

# The ratification phase: rounds, their answer pairs and participants' judgements. The study and
# participant tables exist since elicitation's first migration, which 0009 already depends on.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('moralgraph', '0010_api_tokens'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='RatificationRound',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('snapshot_content_hash', models.CharField(max_length=64)),
                ('target_model', models.CharField(blank=True, max_length=200)),
                ('baseline_model', models.CharField(blank=True, max_length=200)),
                ('opened_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('closed_at', models.DateTimeField(blank=True, null=True)),
                ('opened_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('snapshot', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='moralgraph.graphsnapshot')),
                ('study', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='elicitation.study')),
            ],
            options={
                'ordering': ['-opened_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='RatificationPair',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('question_ids', models.JSONField(blank=True, default=list)),
                ('key', models.CharField(max_length=300)),
                ('prompt', models.TextField()),
                ('target_answer', models.TextField()),
                ('baseline_answer', models.TextField()),
                ('value_ids', models.JSONField(blank=True, default=list)),
                ('context', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='moralgraph.context')),
                ('round', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='pairs', to='moralgraph.ratificationround')),
            ],
            options={
                'ordering': ['round', 'id'],
            },
        ),
        migrations.CreateModel(
            name='RatificationJudgement',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('is_target_left', models.BooleanField()),
                ('preferred', models.CharField(choices=[('target', "The alignment target's answer"), ('baseline', "The baseline's answer"), ('same', 'About the same')], max_length=10)),
                ('embodies_own_card', models.CharField(choices=[('yes', 'Yes'), ('partly', 'Partly'), ('no', 'No')], max_length=10)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('participant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='elicitation.participant')),
                ('pair', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='judgements', to='moralgraph.ratificationpair')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('pair', 'participant'), name='ratification_judgement_once')],
            },
        ),
        migrations.AddConstraint(
            model_name='ratificationround',
            constraint=models.UniqueConstraint(condition=models.Q(('closed_at__isnull', True)), fields=('study',), name='ratification_one_open_round_per_study'),
        ),
        migrations.AddConstraint(
            model_name='ratificationpair',
            constraint=models.UniqueConstraint(fields=('round', 'key'), name='ratification_pair_key_once'),
        ),
    ]

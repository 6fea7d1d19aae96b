# BotUser moves here from botapp with its table ("users") and every row: only Django's
# idea of which app owns the model changes, the database is not touched.

import secrets

import django.db.models.deletion

from django.db import migrations, models


def _referral_code() -> str:
    # The column's default while it existed (referral codes now live in referrals).
    return secrets.token_hex(5)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('botapp', '0002_download_requests'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='BotUser',
                    fields=[
                        ('user_id', models.BigIntegerField(help_text='Telegram user id', primary_key=True, serialize=False)),
                        ('username', models.CharField(blank=True, max_length=64)),
                        ('first_name', models.CharField(blank=True, max_length=128)),
                        ('language_code', models.CharField(blank=True, help_text='As Telegram reports it', max_length=16)),
                        ('language', models.CharField(blank=True, help_text='Chosen with /language; overrides language_code', max_length=8)),
                        ('first_seen_at', models.DateTimeField(db_index=True)),
                        ('last_seen_at', models.DateTimeField(db_index=True)),
                        ('total_downloads', models.PositiveIntegerField(default=0)),
                        ('is_paid', models.BooleanField(default=False)),
                        ('is_blocked', models.BooleanField(default=False, help_text='The user blocked the bot')),
                        ('referral_code', models.CharField(default=_referral_code, max_length=32, unique=True)),
                        ('default_quality', models.CharField(blank=True, max_length=16)),
                        ('send_as', models.CharField(choices=[('video', 'video'), ('file', 'file')], default='video', max_length=8)),
                        ('referred_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='referred_users', to='users.botuser')),
                    ],
                    options={
                        'verbose_name': 'bot user',
                        'db_table': 'users',
                        'ordering': ['-last_seen_at'],
                    },
                ),
            ],
        ),
    ]

# CachedMedia and DownloadRequest move here from botapp with their tables
# ("media_cache", "download_requests") and every row: state only, no data copied.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('botapp', '0002_download_requests'),
        ('users', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='CachedMedia',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('media_key', models.CharField(max_length=128)),
                        ('format', models.CharField(choices=[('360p', '360p'), ('480p', '480p'), ('720p', '720p'), ('1080p', '1080p'), ('audio', 'audio only (M4A)'), ('mp3', 'audio only (MP3)'), ('best', 'best that fits')], max_length=32)),
                        ('file_id', models.CharField(max_length=255)),
                        ('file_unique_id', models.CharField(blank=True, max_length=64)),
                        ('kind', models.CharField(choices=[('video', 'video'), ('audio', 'audio'), ('document', 'document')], default='video', max_length=16)),
                        ('size', models.BigIntegerField(blank=True, null=True)),
                        ('duration', models.PositiveIntegerField(blank=True, null=True)),
                        ('width', models.PositiveIntegerField(blank=True, null=True)),
                        ('height', models.PositiveIntegerField(blank=True, null=True)),
                        ('title', models.CharField(blank=True, max_length=512)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('last_used_at', models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        'verbose_name_plural': 'cached media',
                        'db_table': 'media_cache',
                        'constraints': [models.UniqueConstraint(fields=('media_key', 'format'), name='media_cache_key_format')],
                    },
                ),
                migrations.CreateModel(
                    name='DownloadRequest',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('chat_id', models.BigIntegerField(blank=True, null=True)),
                        ('reply_to_message_id', models.BigIntegerField(blank=True, null=True)),
                        ('progress_message_id', models.BigIntegerField(blank=True, null=True)),
                        ('inline_message_id', models.CharField(blank=True, max_length=255)),
                        ('platform', models.CharField(choices=[('youtube', 'YouTube'), ('instagram', 'Instagram'), ('tiktok', 'TikTok')], max_length=16)),
                        ('media_key', models.CharField(db_index=True, max_length=128)),
                        ('url', models.URLField(max_length=2048)),
                        ('format', models.CharField(blank=True, choices=[('360p', '360p'), ('480p', '480p'), ('720p', '720p'), ('1080p', '1080p'), ('audio', 'audio only (M4A)'), ('mp3', 'audio only (MP3)'), ('best', 'best that fits')], max_length=32)),
                        ('source', models.CharField(choices=[('message', 'private message'), ('inline', 'inline mode'), ('deep_link', 'deep link'), ('group', 'group chat')], max_length=16)),
                        ('status', models.CharField(choices=[('choosing', 'waiting for a quality choice'), ('queued', 'queued'), ('waiting_shared', 'waiting for the same media'), ('running', 'running'), ('done', 'delivered'), ('failed', 'failed')], default='queued', max_length=16)),
                        ('error', models.CharField(blank=True, max_length=32)),
                        ('job_id', models.CharField(blank=True, max_length=64)),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='requests', to='users.botuser')),
                    ],
                    options={
                        'db_table': 'download_requests',
                        'ordering': ['-created_at'],
                        'indexes': [models.Index(fields=['media_key', 'format', 'status'], name='requests_media_status'), models.Index(fields=['user', 'status'], name='requests_user_status')],
                    },
                ),
            ],
        ),
    ]

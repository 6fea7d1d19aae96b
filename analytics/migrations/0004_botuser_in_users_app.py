# BotUser now belongs to the users app (same table): only the state of the foreign keys
# changes (they have no database constraint anyway).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0003_videos_total_downloads_unindexed'),
        ('users', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name='download',
                    name='user',
                    field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='downloads', to='users.botuser'),
                ),
                migrations.AlterField(
                    model_name='clickevent',
                    name='user',
                    field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='clicks', to='users.botuser'),
                ),
                migrations.AlterField(
                    model_name='funnelevent',
                    name='user',
                    field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='funnel_events', to='users.botuser'),
                ),
            ],
        ),
    ]

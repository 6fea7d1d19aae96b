# BotUser now belongs to the users app (same table): only the state of the foreign keys
# changes; the database constraints already point at "users".

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('referrals', '0001_initial'),
        ('users', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name='referral',
                    name='referred_user',
                    field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='referral', to='users.botuser'),
                ),
                migrations.AlterField(
                    model_name='referral',
                    name='referrer',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='referrals_made', to='users.botuser'),
                ),
            ],
        ),
    ]

# Referral codes moved to the referrals app (table "referrers"), made when a user first
# needs one; the column every user got at creation goes. Nobody had been shown theirs,
# so no shared link breaks. After the move of BotUser, so that migrating back to the
# layout before the move restores the column first.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('users', '0002_paid_until'),
        ('botapp', '0003_models_moved_out'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='botuser',
            name='referral_code',
        ),
    ]

import datetime as dt

from django.db import migrations, models
from django.utils import timezone


def is_paid_to_paid_until(apps, schema_editor):
    # No code ever set is_paid; a user flagged by hand keeps one premium period.
    BotUser = apps.get_model("users", "BotUser")
    BotUser.objects.filter(is_paid=True).update(paid_until=timezone.now() + dt.timedelta(days=30))


def paid_until_to_is_paid(apps, schema_editor):
    BotUser = apps.get_model("users", "BotUser")
    BotUser.objects.filter(paid_until__gt=timezone.now()).update(is_paid=True)


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="botuser",
            name="paid_until",
            field=models.DateTimeField(blank=True, db_index=True, null=True),
        ),
        migrations.RunPython(is_paid_to_paid_until, paid_until_to_is_paid),
        migrations.RemoveField(model_name="botuser", name="is_paid"),
    ]

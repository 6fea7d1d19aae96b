from django.db import migrations, models

# Before the constraint: a pick reported twice left two requests for one inline message;
# the later ones let go of it (the first one edits that message).
LATER_DUPLICATES_CLEARED = """
UPDATE download_requests SET inline_message_id = ''
WHERE inline_message_id <> '' AND EXISTS (
    SELECT 1 FROM download_requests AS earlier
    WHERE earlier.inline_message_id = download_requests.inline_message_id
      AND earlier.id < download_requests.id
)
"""


class Migration(migrations.Migration):
    dependencies = [
        ("downloads", "0002_cache_slot_sent_as_file"),
        ("users", "0004_timezone"),
    ]

    operations = [
        migrations.RunSQL(LATER_DUPLICATES_CLEARED, migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name="downloadrequest",
            constraint=models.UniqueConstraint(
                condition=models.Q(("inline_message_id", ""), _negated=True),
                fields=("inline_message_id",),
                name="requests_inline_message",
            ),
        ),
    ]

# BotUser went to the users app, CachedMedia and DownloadRequest to downloads, each with
# its table and rows. botapp forgets them (state only) and their content types follow
# them, so admin permissions and history stay attached.

from django.db import migrations

MOVED = (("botuser", "users"), ("cachedmedia", "downloads"), ("downloadrequest", "downloads"))


def _content_types_move(apps, schema_editor, *, forward: bool) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    rows = content_type.objects.using(schema_editor.connection.alias)
    for model, app in MOVED:
        old, new = ("botapp", app) if forward else (app, "botapp")
        if rows.filter(app_label=new, model=model).exists():
            continue  # already there (made by a later post_migrate): leave both as they are
        rows.filter(app_label=old, model=model).update(app_label=new)


def content_types_forward(apps, schema_editor):
    _content_types_move(apps, schema_editor, forward=True)


def content_types_backward(apps, schema_editor):
    _content_types_move(apps, schema_editor, forward=False)


class Migration(migrations.Migration):

    dependencies = [
        ('botapp', '0002_download_requests'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('users', '0001_initial'),
        ('downloads', '0001_initial'),
        ('referrals', '0002_botuser_in_users_app'),
        ('analytics', '0004_botuser_in_users_app'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name='DownloadRequest'),
                migrations.DeleteModel(name='CachedMedia'),
                migrations.DeleteModel(name='BotUser'),
            ],
        ),
        migrations.RunPython(content_types_forward, content_types_backward),
    ]

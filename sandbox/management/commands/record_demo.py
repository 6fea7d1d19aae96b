"""``python manage.py record_demo``: records the README's GIFs from the sandbox.

Development only: it drives the chat page with headless Chromium (playwright) while
the real bot answers, and writes ``docs/images/demo-<scene>.gif``. Run it again after
a change to the chat page or the bot's texts. It uses the configured database and
Redis, and forgets the demo videos' cached copies first so the downloads are real.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sandbox.demo import DEFAULT_OUTPUT, SCENES, demos_record


class Command(BaseCommand):
    help = "Records the README's demo GIFs from the sandbox with headless Chromium."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--scene",
            action="append",
            choices=sorted(SCENES),
            help="record only this scene (repeatable); default: all",
        )
        parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="GIF folder")
        parser.add_argument(
            "--short",
            action="store_true",
            help="hurried and small (for tests): checks the recording works, not for docs",
        )

    def handle(self, *args, scene: list[str] | None, output: Path, short: bool, **options):
        scenes = scene or list(SCENES)
        try:
            recorded = demos_record(
                scenes=scenes, output=output, short=short, report=self.stdout.write
            )
        except RuntimeError as error:
            raise CommandError(str(error)) from error
        total = sum(item.size for item in recorded)
        self.stdout.write(f"{len(recorded)} GIFs, {total / 1024:.0f} KB in all, in {output}")

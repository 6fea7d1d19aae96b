#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

from __future__ import annotations

import sys

from config.startup import settings_module_select


def main() -> None:
    # Production settings unless a development command or DJANGO_SETTINGS_MODULE says
    # otherwise (config/startup.py explains why).
    settings_module_select(sys.argv)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

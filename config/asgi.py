from __future__ import annotations

from django.core.asgi import get_asgi_application

from config.startup import settings_module_select

settings_module_select()  # production unless DJANGO_SETTINGS_MODULE says otherwise
application = get_asgi_application()

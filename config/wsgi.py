from __future__ import annotations

from django.core.wsgi import get_wsgi_application

from config.startup import settings_module_select

settings_module_select()  # production unless DJANGO_SETTINGS_MODULE says otherwise
application = get_wsgi_application()

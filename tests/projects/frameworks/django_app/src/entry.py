"""A Django project as a Python Worker: settings, URLs and views served through workers.wsgi."""
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hello_site.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402
from workers import WorkerEntrypoint  # noqa: E402
from workers.wsgi import fetch  # noqa: E402

application = get_wsgi_application()


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return await fetch(application, request, self.env)

import os

from django.core.wsgi import get_wsgi_application

from .chunked import ChunkedBodies

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "c2c_ops.settings")
application = ChunkedBodies(get_wsgi_application())

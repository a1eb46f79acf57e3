"""plotly.js straight from the installed plotly package.

The figures are built by the Python package and drawn by its bundled plotly.js; serving
that very file keeps the two the same version, with nothing copied into the repository
and nothing fetched from a CDN. Only the one file is served, not the package's datasets.
"""

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PLOTLY_DIR = Path(plotly.__file__).parent / "package_data"
NAME = "plotly.min.js"
PREFIX = "vendor"


class PlotlyFinder(BaseFinder):
    def check(self, **kwargs) -> list:
        return []

    def find(self, path: str, find_all: bool = False, **kwargs):
        if path != f"{PREFIX}/{NAME}":
            return [] if find_all or kwargs.get("all") else None
        found = str(PLOTLY_DIR / NAME)
        return [found] if find_all or kwargs.get("all") else found

    def list(self, ignore_patterns):
        storage = FileSystemStorage(location=PLOTLY_DIR)
        storage.prefix = PREFIX  # collectstatic writes it to vendor/plotly.min.js
        yield NAME, storage

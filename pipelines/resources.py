"""The one resource every asset uses: where the project's data lives."""

from __future__ import annotations

import dagster as dg

from quarterstats.paths import ProjectPaths, default_workdir


class ProjectResource(dg.ConfigurableResource):
    """Working directory with ``data/raw``, ``data/processed`` and ``reports``, or with one such folder per
    municipality in ``municipalities/<key>/`` (default: the checkout, or ``$QUARTERSTATS_WORKDIR``).
    Assets take their municipality's folder with ``paths.for_municipality(key)``."""

    workdir: str = ""

    @property
    def paths(self) -> ProjectPaths:
        return ProjectPaths.from_workdir(self.workdir or default_workdir())

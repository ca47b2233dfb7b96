"""The one resource every asset uses: where the project's data lives."""

from __future__ import annotations

import dagster as dg

from quarterstats.paths import ProjectPaths, default_workdir


class ProjectResource(dg.ConfigurableResource):
    """Working directory with ``data/raw``, ``data/processed`` and ``reports``, or with one such folder per
    municipality in ``municipalities/<key>/`` (default: the checkout, or ``$QUARTERSTATS_WORKDIR``).
    Assets take their municipality's folder with ``paths.for_municipality(key)``; the stages read that
    folder's ``quarterstats.toml`` themselves (``quarterstats.settings.load_settings``), so every asset of a
    municipality runs with the same checked settings."""

    workdir: str = ""

    @property
    def paths(self) -> ProjectPaths:
        return ProjectPaths.from_workdir(self.workdir or default_workdir())

"""District boundaries, reprojected, validated and repaired: every boundary version of a municipality.

The asset's data version combines the versions' files, the series geography and the ``[boundaries]``
parameters, so a new boundary version marks every date's persons (and what follows) stale: the time
series is rebuilt on the new series geography."""

import dagster as dg

from pipelines.partitions import municipality_partitions
from pipelines.resources import ProjectResource
from pipelines.results import materialize_result, run_partition_stage
from quarterstats.stages import boundaries_stage


@dg.asset(
    partitions_def=municipality_partitions,
    group_name="ingest",
    kinds={"geoparquet"},
    check_specs=[
        dg.AssetCheckSpec(
            "boundaries_valid", asset="district_boundaries", blocking=True,
            description="Valid, unique, non-empty polygons; overlaps and gaps within tolerance, slivers repaired.",
        )
    ],
)
def district_boundaries(context: dg.AssetExecutionContext, project: ProjectResource) -> dg.MaterializeResult:
    """District polygons in EPSG:25832 with ids, names and areas, per boundary version (per municipality)."""
    return materialize_result(run_partition_stage(boundaries_stage, context, project))

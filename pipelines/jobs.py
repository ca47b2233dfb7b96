"""Jobs: everything for one reference date (the partitioned assets, with their checks)."""

import dagster as dg

reference_date_job = dg.define_asset_job(
    "reference_date_job",
    selection=dg.AssetSelection.assets("register_extract", "persons", "migration_recovery", "indicators", "publication"),
    description="Ingest, join, derive and compute indicators for one reference date.",
)
boundaries_job = dg.define_asset_job(
    "boundaries_job", selection=dg.AssetSelection.assets("district_boundaries"),
    description="Read and validate the district boundaries.",
)

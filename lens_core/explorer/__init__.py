"""The dataset explorer: DuckDB queries, profiles, local copies, chart and map data, distributions across runs."""

"""Training pipelines: TANet (tunet) on TAD66k-format data."""

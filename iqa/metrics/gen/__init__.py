"""Distribution (generative) metrics."""

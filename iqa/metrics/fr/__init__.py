"""Full-reference metrics."""

"""Feature extractors (FID Inception, CLIP, ...): filled by the distribution-metrics work."""

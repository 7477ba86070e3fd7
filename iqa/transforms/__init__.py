"""Tensor transforms shared by metrics: colour conversions and filtering helpers."""

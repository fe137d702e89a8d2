"""Preference models: features, estimators, grouped training with calibration, evaluation, ablation."""

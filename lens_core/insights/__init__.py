"""Post-hoc analysis: plain functions returning tidy DataFrames or frozen dataclasses (caching is the app's job).

- :mod:`lens_core.insights.hyperparams`: which params drive a metric across runs (surrogate model, importance,
  PDP / ALE of params, where to look next).
"""

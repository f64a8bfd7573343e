"""Scaling laws from the run table: fits, bootstrap intervals, allocation, figures, report.

This layer reads only ``runs.csv`` (docs/interfaces.md) and never imports torch.
Public fits: :func:`fit_parametric` (Chinchilla's L(N, D)) and :func:`fit_power_law`.
"""

from eqscale.scaling.fits import ParametricFit, PowerLawFit, fit_parametric, fit_power_law

__all__ = ["ParametricFit", "PowerLawFit", "fit_parametric", "fit_power_law"]

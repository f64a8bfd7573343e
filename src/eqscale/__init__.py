"""eqscale: does equivariance matter at scale?

Layers, imports pointing down: ``ga`` (projective geometric algebra) -> ``nn`` (GATr layers)
-> ``data`` (scenes, dataset, tokens) -> ``models`` (task models, FLOPs) -> ``train`` (runs)
-> ``study`` (sweeps) ; ``scaling`` (fits and report) reads only the run table.
"""

__version__ = "0.1.0"

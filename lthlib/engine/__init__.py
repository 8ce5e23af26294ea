"""The engine: configs, data, networks, masks, training and its modes, experiments, the result store, verify,
sweeps and the benchmark. It computes results and imports nothing from the analysis or the command line."""

from . import kinds  # noqa: F401  (registers every experiment kind, which the config's rules read)

"""The engine: configs, data, networks, masks, training and its modes, experiments, the result store, verify,
sweeps and the benchmark. It computes results and imports nothing from the analysis or the command line."""

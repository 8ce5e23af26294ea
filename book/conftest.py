"""nbval compares figures too: a chapter's PNG outputs must match the committed ones byte for byte.

Figures are deterministic (seeded bootstrap bands, fixed data, the Agg renderer), so a changed figure
means a changed result.
"""


def pytest_collectstart(collector):
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare = tuple(key for key in collector.skip_compare if key != "image/png")

"""lthlib: the library behind the book "Lottery tickets, read critically".

One module, one job: ``config`` (experiment settings, their checks and their
hash), ``sources`` (getting dataset files), ``data`` (datasets as device
tensors, and a registry for a reader's own), ``models`` (K networks as one batched
computation), ``masks`` (pruning criteria), ``actions`` (what kept and pruned
weights become), ``train`` (the trainer), ``experiments`` (pruning
procedures), ``store`` (the result store), ``verify`` (re-training a stored
curve), ``bench`` (throughput against a textbook loop), ``cli`` (the command
line), and for the book: ``chapter`` (checked parameters and store access),
``chapter_run`` (re-executing a chapter with other parameters),
``summary`` (tidy tables), ``claims`` (verdict rules), ``plots`` (figures).
"""

__version__ = "0.1.0"

"""lthlib: the library behind the book "Lottery tickets, read critically".

One module, one job: ``config`` (experiment settings and their hash), ``data``
(datasets as device tensors), ``models`` (K networks as one batched
computation), ``masks`` (pruning criteria), ``actions`` (what kept and pruned
weights become), ``train`` (the trainer), ``experiments`` (pruning
procedures), ``store`` (the result store), ``plots`` (the book's figures).
"""

__version__ = "0.1.0"

"""What the papers did: the settings each chapter's box sets beside its own, and the numbers its prose quotes.

Frankle & Carbin's (:data:`PAPER_BOX`) stand beside the chapters on their
paper; Zhou et al.'s (:data:`ZHOU_BOX`, :data:`SUPERMASK_BOX`) beside the
chapters on theirs (each chapter's entry in :mod:`lthlib.analysis.chapters`
names its paper).
"""

from __future__ import annotations

from ..engine.config import PAPER_SETTINGS
from ..engine.models import NETWORK_NAMES

# Frankle & Carbin's own setting for each row of the settings box (their Figure 2 and Section 2).
PAPER_BOX = {
    "dataset": "MNIST (LeNet-300-100); CIFAR-10 (Conv-2, -4, -6)",
    "networks": "LeNet-300-100, Conv-2, Conv-4, Conv-6",
    "training length": "; ".join(
        f"{NETWORK_NAMES[n]}: {s['iterations']:,} iterations" for n, s in PAPER_SETTINGS.items()
    )
    + "; batch 60, evaluated every 100",
    "training images": "the training set less a 5,000-example validation set (55,000 on MNIST)",
    "trials": "5 per experiment",
    "precision": "float32 (not stated; TensorFlow's default)",
    "hardware": "not stated in the paper",
}

# Zhou et al.'s settings, from their code (the lottery-ticket runs follow Frankle & Carbin's); the numbers the
# chapters' prose quotes are glued from ZHOU_NUMBERS.
ZHOU_NUMBERS = dict(lenet_iterations=50_000, rounds=24, supermask_epochs=2_000, supermask_iterations=440_000)
ZHOU_BOX = {
    **PAPER_BOX,
    "networks": "their FC 300-100 (LeNet-300-100), Conv-2, Conv-4, Conv-6",
    "training length": "LeNet-300-100: 55 epochs (about {lenet_iterations:,} iterations), batch 60, evaluated every "
    "100; {rounds} rounds of iterative pruning".format(**ZHOU_NUMBERS),
    "training images": "MNIST's training set less a validation set (55 epochs make about 50,000 iterations)",
    "trials": "not stated in the parts of the paper checked here",
}
SUPERMASK_BOX = {
    **ZHOU_BOX,
    "training length": "masks at initialisation: one-shot from the trained network, kept fractions 0.8^k (hidden) "
    "and 0.9^k (output), k = 0..{rounds}; learned supermasks: SGD (lr 100, momentum 0.9), batch 250, "
    "{supermask_epochs:,} epochs (about {supermask_iterations:,} iterations)".format(**ZHOU_NUMBERS),
}

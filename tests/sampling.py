"""What make test samples and what it runs in full: switches read by several test modules.

A plain module, not ``conftest``: ``make test`` also collects ``book/conftest.py``, and the name ``conftest``
would then import that one.
"""

from __future__ import annotations

import os

import torch

from lthlib.engine.train import bfloat16_is_native

# LTHLIB_FULL=1 runs in full what make test samples.
FULL = bool(os.environ.get("LTHLIB_FULL"))
# Where the CPU has no native bfloat16, a bfloat16 Conv-2 trains eleven times slower than in float32 (0.6 against
# 6.8 network-steps/s on 2 cores with AVX2 alone): make test leaves its bfloat16 convolutional checks to FULL there.
BFLOAT16_TOO_SLOW = not FULL and not bfloat16_is_native(torch.device("cpu"))

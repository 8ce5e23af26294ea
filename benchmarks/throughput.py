"""Training throughput of lthlib's batched trainer against a textbook PyTorch loop (see lthlib.engine.bench).

Usage: python benchmarks/throughput.py [lthlib bench options], e.g. --members 8 --networks lenet,conv2
"""

import sys

from lthlib.cli.commands import main

sys.exit(main(["bench", *sys.argv[1:]]))

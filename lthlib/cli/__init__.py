"""The command line, ``python -m lthlib run|sweep|verify|bench|data|chapter``: every argument checked before any
work, every error one line and exit code 2."""

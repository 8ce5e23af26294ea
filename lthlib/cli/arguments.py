"""argparse with the command line's manners: an error is one line and exit code 2, an option is given once."""

from __future__ import annotations

import argparse


class UsageError(Exception):
    """A bad command line; the message is printed on one line."""


class Parser(argparse.ArgumentParser):
    """argparse, but an error is one line and exit code 2, raised rather than printed with the usage."""

    def error(self, message):
        raise UsageError(message)


class Once(argparse.Action):
    """An option that may be given once: a repeated option is refused rather than silently overridden."""

    def __call__(self, parser, namespace, values, option_string=None):
        seen = namespace.__dict__.setdefault("_given", set())
        if self.dest in seen:
            raise UsageError(f"{option_string} is given twice; give each option once")
        seen.add(self.dest)
        setattr(namespace, self.dest, values)


class OnceFlag(Once):
    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=False, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        super().__call__(parser, namespace, True, option_string)

"""The experiment kinds, one module each, registered below in the order the command line lists them.

A new kind is a module here that declares a :class:`lthlib.engine.kind.Kind`, and its name in the list below.
"""

from ..kind import register
from .borrowed import SWAP, TRANSFER
from .dense import DENSE
from .imp import IMP
from .oneshot import ONESHOT, UNTRAINED
from .signs import SIGNS
from .supermask import SUPERMASK

for each in (DENSE, IMP, ONESHOT, UNTRAINED, SUPERMASK, SWAP, TRANSFER, SIGNS):
    register(each)

# What gmploop's hot modules use of Cython's pure-Python-mode module
# (``import cython``; gmploop/_build.py stands in for it when interpreted).
# For mypy only: Cython is a build requirement and ships no type information.
from typing import Any, Callable, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])

compiled: bool

def locals(**types: Any) -> Callable[[_F], _F]: ...
def always_allow_keywords(flag: bool) -> Callable[[_F], _F]: ...

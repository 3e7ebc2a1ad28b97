# What gmploop's hot modules use of Cython's pure-Python-mode module
# (``import cython``; gmploop/_build.py stands in for it when interpreted).
# For mypy only: Cython is a build requirement and ships no type information.
from typing import Any, Callable, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])

compiled: bool
NULL: Any

def locals(**types: Any) -> Callable[[_F], _F]: ...
def always_allow_keywords(flag: bool) -> Callable[[_F], _F]: ...
def cast(type: Any, value: Any) -> Any: ...
def pointer(type: Any) -> Any: ...

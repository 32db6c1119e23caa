"""Name -> class registries (entity encoders, head torsos, token encoders): one mechanism for all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T", bound=type)


class Registry(dict, Generic[T]):
    """A ``dict`` name -> class with a checked ``register`` decorator and ``build`` by name.

    ``key`` names the config field that selects an entry and ``kind`` the thing registered; both appear in
    the error for an unknown name: ``"<key>: unknown <kind> 'x', expected one of [...]"``.
    """

    def __init__(self, *, key: str, kind: str, base: type, decorator: str) -> None:
        super().__init__()
        self.key, self.kind, self.base, self.decorator = key, kind, base, decorator

    def register(self, name: str) -> Callable[[T], T]:
        """Class decorator adding a subclass of ``base`` under ``name``."""

        def add(cls: T) -> T:
            if not (isinstance(cls, type) and issubclass(cls, self.base)):
                raise ValueError(f"{self.decorator}({name!r}): {cls!r} is not an {self.base.__name__} subclass")
            self[name] = cls
            return cls

        return add

    def build(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if name not in self:
            raise ValueError(f"{self.key}: unknown {self.kind} {name!r}, expected one of {sorted(self)}")
        return self[name](*args, **kwargs)

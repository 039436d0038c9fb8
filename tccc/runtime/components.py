"""The components the runtime manages: declared memory, measured memory, load and unload.

Each component declares the memory it is expected to take; the profile sets the total budget.
A component loads only when its expected memory fits both the budget (with what is already
loaded) and the memory the system has available. Every load and unload is measured: process
RSS before and after (after giving freed memory back to the system), attributed to the
component. Loads and unloads of one component never overlap.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tccc.errors import TcccError

_LOGGER = logging.getLogger(__name__)


def release_freed_memory() -> None:
    """Collect garbage and hand freed heap pages back to the system (glibc `malloc_trim`)."""
    gc.collect()
    name = ctypes.util.find_library("c")
    if name is None:
        return
    try:
        libc = ctypes.CDLL(name)
        trim = getattr(libc, "malloc_trim", None)
        if trim is not None:
            trim(0)
    except OSError:
        _LOGGER.debug("malloc_trim unavailable")


@dataclass
class Component:
    """One managed part of the service."""

    name: str
    expected_mb: float
    """Memory it is expected to take (declared by the profile)."""
    load_fn: Callable[[], Awaitable[None]]
    unload_fn: Callable[[], Awaitable[None]] | None = None
    """None: it cannot be unloaded (the VAD, shared by every stream)."""
    essential: bool = False
    """The policy never unloads it (speech recognition); an operator still may."""
    state: str = "unloaded"
    """unloaded, loading, loaded, unloading or failed."""
    reason: str = ""
    """Why it is in this state."""
    loads: int = 0
    unloads: int = 0
    load_s: float | None = None
    measured_mb: float | None = None
    """RSS its last load added."""
    freed_mb: float | None = None
    """RSS its last unload gave back."""
    error: str | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def over_limit(self) -> bool:
        """It took more than the profile declared for it (the profile needs correcting)."""
        return self.measured_mb is not None and self.measured_mb > self.expected_mb

    @property
    def cost_mb(self) -> float:
        """Memory to reserve for it: the larger of declared and measured."""
        return max(self.expected_mb, self.measured_mb or 0.0)

    def info(self) -> dict[str, Any]:
        """Plain data for the API."""
        return {
            "name": self.name,
            "state": self.state,
            "reason": self.reason,
            "essential": self.essential or self.unload_fn is None,
            "expected_mb": self.expected_mb,
            "measured_mb": _round(self.measured_mb),
            "over_limit": self.over_limit,
            "freed_mb": _round(self.freed_mb),
            "load_s": _round(self.load_s),
            "loads": self.loads,
            "unloads": self.unloads,
            "error": self.error,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


Listener = Callable[[str, Component], None]
"""Told of every change: (event name, component)."""


class Registry:
    """The service's components, its memory budget, and measured loads and unloads."""

    def __init__(
        self,
        budget_mb: float,
        rss_mb: Callable[[], float | None],
        *,
        min_available_mb: float = 400.0,
        shed_share: float = 0.9,
        margin_mb: float = 200.0,
        listener: Listener | None = None,
    ) -> None:
        self.budget_mb = budget_mb
        self.min_available_mb = min_available_mb
        self.shed_share = shed_share
        self.margin_mb = margin_mb
        self._rss = rss_mb
        self._components: dict[str, Component] = {}
        self._listener = listener

    def add(self, component: Component) -> Component:
        """Register a component (not loaded yet)."""
        self._components[component.name] = component
        return component

    def get(self, name: str) -> Component:
        """A component by name (KeyError if there is none)."""
        return self._components[name]

    def __contains__(self, name: object) -> bool:
        return name in self._components

    @property
    def components(self) -> list[Component]:
        """Every component, in registration order."""
        return list(self._components.values())

    def reserved_mb(self) -> float:
        """Memory reserved by the loaded (and loading) components."""
        return sum(c.cost_mb for c in self._components.values() if c.state in ("loaded", "loading"))

    def refusal(
        self, name: str, available_mb: float | None, *, rss_mb: float | None = None
    ) -> str | None:
        """Why `name` may not load now (None: it fits the budget and the free memory).

        With the service's RSS, the load must also leave it under the share of the budget at
        which the policy sheds (minus a margin), or the policy would shed it again at once.
        """
        component = self._components[name]
        if component.state in ("loaded", "loading"):
            return None
        need = component.cost_mb
        total = self.reserved_mb() + need
        if total > self.budget_mb:
            return (
                f"budget: {total:.0f} MiB with {name} > {self.budget_mb:.0f} MiB "
                f"({need:.0f} MiB for {name})"
            )
        ceiling = self.budget_mb * self.shed_share - self.margin_mb
        if rss_mb is not None and rss_mb + need > ceiling:
            return (
                f"service {rss_mb:.0f} MiB + {need:.0f} MiB for {name} > {ceiling:.0f} MiB "
                f"({self.shed_share:.0%} of the budget less {self.margin_mb:.0f} MiB)"
            )
        if available_mb is not None and available_mb - need < self.min_available_mb:
            return (
                f"MemAvailable {available_mb:.0f} MiB - {need:.0f} MiB for {name} "
                f"< {self.min_available_mb:.0f} MiB floor"
            )
        return None

    async def load(self, name: str, reason: str) -> bool:
        """Load `name` and measure it; False (with `error` set) if it failed."""
        component = self._components[name]
        async with component.lock:
            if component.state == "loaded":
                return True
            self._set(component, "loading", reason)
            before = await asyncio.to_thread(self._settled_rss)
            started = time.perf_counter()
            try:
                await component.load_fn()
            except TcccError as exc:
                component.error = exc.message
                self._set(component, "failed", exc.message)
                _LOGGER.error("runtime: %s failed to load: %s", name, exc.message)
                return False
            except BaseException as exc:
                # Never left "loading" (reserved and never retried): failed, then re-raised.
                component.error = type(exc).__name__
                self._set(component, "failed", type(exc).__name__)
                raise
            component.load_s = time.perf_counter() - started
            after = await asyncio.to_thread(self._settled_rss)
            if before is not None and after is not None:
                component.measured_mb = after - before
            component.loads += 1
            component.error = None
            if component.over_limit:
                _LOGGER.warning(
                    "runtime: %s took %.0f MiB, over the %.0f MiB the profile declares",
                    name, component.measured_mb or 0.0, component.expected_mb,
                )  # fmt: skip
            self._set(component, "loaded", reason)
            return True

    async def unload(self, name: str, reason: str) -> bool:
        """Unload `name` and measure what it gave back; False if it is essential."""
        component = self._components[name]
        if component.unload_fn is None:
            return False
        async with component.lock:
            if component.state != "loaded":
                return True
            self._set(component, "unloading", reason)
            before = await asyncio.to_thread(self._settled_rss)
            try:
                await component.unload_fn()
            except BaseException:
                self._set(component, "loaded", f"unload failed ({reason})")
                raise
            after = await asyncio.to_thread(self._settled_rss)
            if before is not None and after is not None:
                component.freed_mb = before - after
            component.unloads += 1
            self._set(component, "unloaded", reason)
            return True

    def _settled_rss(self) -> float | None:
        release_freed_memory()
        return self._rss()

    def _set(self, component: Component, state: str, reason: str) -> None:
        component.state, component.reason = state, reason
        if self._listener is not None:
            self._listener(state, component)

    def snapshot(self) -> list[dict[str, Any]]:
        """Every component as plain data."""
        return [c.info() for c in self._components.values()]

"""HTTP routes of the edge runtime: its state, component load/unload, power profiles."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI, HTTPException

from tccc.runtime.manager import RuntimeManager
from tccc.runtime.power_profiles import PROFILES


def register_runtime_routes(app: FastAPI, runtime: RuntimeManager) -> None:
    """Add `/v1/runtime` and its operator actions to the app (behind the API token)."""

    @app.get("/v1/runtime", tags=["runtime"])
    async def runtime_state() -> dict[str, Any]:
        """Components with their memory, telemetry, policy state and the recent actions."""
        return runtime.snapshot()

    @app.post("/v1/runtime/components/{name}/{verb}", tags=["runtime"])
    async def component_action(name: str, verb: Literal["load", "unload"]) -> dict[str, Any]:
        """Load or unload one component now (live streams wait for the speech model)."""
        if name not in runtime.registry:
            raise HTTPException(status_code=404, detail=f"no component {name!r}")
        component = runtime.registry.get(name)
        if verb == "unload":
            if component.unload_fn is None:
                raise HTTPException(status_code=409, detail=f"{name} cannot be unloaded")
            await runtime.registry.unload(name, "operator")
        else:
            ok = await runtime.registry.load(name, "operator")
            if not ok:
                raise HTTPException(status_code=500, detail=f"{name} failed to load")
        return component.info()

    @app.post("/v1/runtime/power/{profile}", tags=["runtime"])
    async def power(profile: Literal["performance", "balanced", "saver"]) -> dict[str, Any]:
        """Apply a power profile's component settings (the nvpmodel mode: `tccc power`)."""
        assert profile in PROFILES
        await runtime.set_profile(profile)
        state: dict[str, Any] = runtime.snapshot()["state"]
        return state

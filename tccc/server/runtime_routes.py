"""HTTP routes of the edge runtime: its state, component load/unload, power profiles."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import FastAPI, HTTPException, Query

from tccc.runtime.manager import RuntimeManager
from tccc.runtime.power_profiles import PROFILES
from tccc.server.http_errors import responses


def register_runtime_routes(app: FastAPI, runtime: RuntimeManager) -> None:
    """Add `/v1/runtime` and its operator actions to the app (behind the API token)."""

    @app.get("/v1/runtime", tags=["runtime"], responses=responses())
    async def runtime_state() -> dict[str, Any]:
        """Components with their memory, telemetry, policy state and the recent actions."""
        return runtime.snapshot()

    @app.post(
        "/v1/runtime/components/{name}/{verb}", tags=["runtime"], responses=responses(404, 409, 500)
    )
    async def component_action(name: str, verb: Literal["load", "unload"]) -> dict[str, Any]:
        """Load or unload one component now; an unloaded one stays so until loaded again (live
        streams wait for the speech model)."""
        if name not in runtime.registry:
            raise HTTPException(status_code=404, detail="no such component")
        component = runtime.registry.get(name)
        if verb == "unload" and component.unload_fn is None:
            raise HTTPException(status_code=409, detail=f"{name} cannot be unloaded")
        ok = await runtime.operate(name, verb)
        if not ok:
            raise HTTPException(status_code=500, detail=f"{name} failed to {verb}")
        return component.info()

    @app.post("/v1/runtime/battery", tags=["runtime"], responses=responses(409))
    async def battery(pct: Annotated[float, Query(ge=0, le=100)] = 100.0) -> dict[str, Any]:
        """A new (or recharged) battery: the charge left starts again from `pct` %."""
        if runtime.telemetry is None or runtime.telemetry.battery_capacity_wh <= 0:
            raise HTTPException(
                status_code=409, detail="no battery configured (runtime.battery_wh)"
            )
        runtime.telemetry.battery_reset(pct)
        return {"battery_wh": runtime.telemetry.battery_capacity_wh * pct / 100}

    @app.post("/v1/runtime/power/{profile}", tags=["runtime"], responses=responses())
    async def power(profile: Literal["performance", "balanced", "saver"]) -> dict[str, Any]:
        """Apply a power profile's component settings (the nvpmodel mode: `tccc power`)."""
        assert profile in PROFILES
        await runtime.set_profile(profile)
        state: dict[str, Any] = runtime.snapshot()["state"]
        return state

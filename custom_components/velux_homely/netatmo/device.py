"""One module as entities see it (:class:`ModuleView`) and its device card."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.helpers.device_registry import DeviceInfo

from ..api.netatmo_models import (
    TYPE_GATEWAY,
    TYPE_OPENER,
    GatewayStatus,
    Home,
    HomeStatus,
    Module,
    ModuleStatus,
    OpenerStatus,
    RoomStatus,
)
from ..const import DOMAIN
from .flavours import Flavour


@dataclass(frozen=True, slots=True, kw_only=True)
class ModuleView:
    """Everything an entity needs about one module: topology and live state."""

    home: Home
    module: Module
    status: ModuleStatus | None
    room: RoomStatus | None
    room_name: str | None
    bridge_id: str | None
    in_error: bool = False
    """The cloud listed the module in ``errors`` (code 6: unreachable)."""
    home_ok: bool = True
    """The latest read of the module's home worked (else its entities are unavailable)."""
    stopped: bool = False
    """An opener that stopped short of its target (an obstacle, rain): not moving."""

    @classmethod
    def build(
        cls,
        home: Home,
        module: Module,
        home_status: HomeStatus | None,
        *,
        home_ok: bool = True,
        stopped: bool = False,
    ) -> ModuleView:
        """Join a module of the topology with its home's latest status.

        The bridge is the one homestatus reports now (homesdata's can be 30 minutes old).
        """
        status = home_status.modules.get(module.id) if home_status else None
        room = home_status.rooms.get(module.room_id) if home_status and module.room_id else None
        room_topology = home.room(module.room_id)
        bridge_id = (status.bridge if status else None) or module.bridge
        if module.type == TYPE_GATEWAY:
            bridge_id = module.id
        elif bridge_id is None and home.gateways:
            bridge_id = home.gateways[0].id
        return cls(
            home=home,
            module=module,
            status=status,
            room=room,
            room_name=room_topology.name if room_topology else None,
            bridge_id=bridge_id,
            in_error=home_status is not None
            and any(error.id == module.id for error in home_status.errors),
            home_ok=home_ok,
            stopped=stopped,
        )

    @property
    def reachable(self) -> bool:
        """Return True when the cloud reports the module and it is reachable."""
        return self.status is not None and self.status.reachable is not False and not self.in_error

    @property
    def available(self) -> bool:
        """Return True when the module's home was read and the module is reachable."""
        return self.home_ok and self.reachable

    @property
    def moving(self) -> bool:
        """Return True while an opener is on its way to its target."""
        opener = self.opener
        return opener is not None and opener.is_moving and not self.stopped

    @property
    def opener(self) -> OpenerStatus | None:
        """Return the status of an opener (None for other modules)."""
        return self.status if isinstance(self.status, OpenerStatus) else None

    @property
    def gateway(self) -> GatewayStatus | None:
        """Return the status of a gateway (None for other modules)."""
        return self.status if isinstance(self.status, GatewayStatus) else None


def model_of(view: ModuleView, flavour: Flavour) -> str:
    """Return the model shown on the device card."""
    module = view.module
    if module.type == TYPE_OPENER:
        return flavour.opener_models.get(module.velux_type or "", flavour.opener_model)
    return flavour.module_models.get(module.type, module.type)


def device_info(view: ModuleView, flavour: Flavour) -> DeviceInfo:
    """Return the device card of a module (the coordinator links it to its gateway)."""
    module, status = view.module, view.status
    manufacturer = flavour.manufacturer
    sw_version: str | None = None
    hw_version: str | None = None
    if isinstance(status, GatewayStatus):
        sw_version = status.firmware
        hw_version = None if status.hardware_version is None else str(status.hardware_version)
    elif status is not None and status.firmware_revision is not None:
        sw_version = str(status.firmware_revision)
    if isinstance(status, OpenerStatus) and status.manufacturer:
        manufacturer = status.manufacturer
    model = model_of(view, flavour)
    info = DeviceInfo(
        identifiers={(DOMAIN, module.id)},
        name=module.name or model,
        manufacturer=manufacturer,
        model=model,
        model_id=module.type,
        sw_version=sw_version,
        hw_version=hw_version,
    )
    if view.room_name:
        info["suggested_area"] = view.room_name
    return info

"""Typed models of the Netatmo API family's ``homesdata`` and ``homestatus`` answers.

Every model is a frozen dataclass built by ``from_api``; parsing tolerates
missing keys (and values of an unexpected type) so that a partial answer
never breaks a whole refresh. One exception: a ``homesdata`` answer without a
``body.homes`` list is refused (:class:`InvalidResponseError`), because reading
it as "no homes" would remove every device of the account.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .errors import InvalidResponseError

TYPE_GATEWAY: Final = "NXG"
TYPE_OPENER: Final = "NXO"
TYPE_SENSOR: Final = "NXS"
TYPE_SWITCH: Final = "NXD"


def _str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


def _int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _bool(data: Mapping[str, Any], key: str) -> bool | None:
    value = data.get(key)
    return value if isinstance(value, bool) else None


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping) and isinstance(item.get("id"), str)]


def _strs(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str))


def _body(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    body = payload.get("body")
    return body if isinstance(body, Mapping) else {}


# --- homesdata (topology) -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Room:
    """A room of a home."""

    id: str
    name: str | None = None
    module_ids: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Room:
        """Parse one entry of ``homes[].rooms``."""
        return cls(
            id=str(data["id"]), name=_str(data, "name"), module_ids=_strs(data.get("module_ids"))
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Module:
    """A module as the topology describes it (gateway, opener, sensor, switch...)."""

    id: str
    type: str
    name: str | None = None
    bridge: str | None = None
    room_id: str | None = None
    velux_type: str | None = None
    subtype: str | None = None
    setup_date: int | None = None
    modules_bridged: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Module:
        """Parse one entry of ``homes[].modules``."""
        return cls(
            id=str(data["id"]),
            type=_str(data, "type") or "",
            name=_str(data, "name"),
            bridge=_str(data, "bridge"),
            room_id=_str(data, "room_id"),
            velux_type=_str(data, "velux_type"),
            subtype=_str(data, "subtype"),
            setup_date=_int(data, "setup_date"),
            modules_bridged=_strs(data.get("modules_bridged")),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Home:
    """A home with its rooms and modules."""

    id: str
    name: str | None = None
    rooms: tuple[Room, ...] = ()
    modules: tuple[Module, ...] = ()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Home:
        """Parse one entry of ``body.homes``."""
        return cls(
            id=str(data["id"]),
            name=_str(data, "name"),
            rooms=tuple(Room.from_api(room) for room in _dicts(data.get("rooms"))),
            modules=tuple(Module.from_api(module) for module in _dicts(data.get("modules"))),
        )

    def modules_of_type(self, module_type: str) -> tuple[Module, ...]:
        """Return the modules of one type (``NXG``, ``NXO``, ``NXS``, ``NXD``)."""
        return tuple(module for module in self.modules if module.type == module_type)

    @property
    def gateways(self) -> tuple[Module, ...]:
        """Return the gateways (NXG)."""
        return self.modules_of_type(TYPE_GATEWAY)

    @property
    def openers(self) -> tuple[Module, ...]:
        """Return the openers: windows, shutters, blinds (NXO)."""
        return self.modules_of_type(TYPE_OPENER)

    @property
    def sensors(self) -> tuple[Module, ...]:
        """Return the indoor climate sensors (NXS)."""
        return self.modules_of_type(TYPE_SENSOR)

    @property
    def switches(self) -> tuple[Module, ...]:
        """Return the departure switches (NXD)."""
        return self.modules_of_type(TYPE_SWITCH)

    def module(self, module_id: str) -> Module | None:
        """Return a module by id."""
        return next((module for module in self.modules if module.id == module_id), None)

    def room(self, room_id: str | None) -> Room | None:
        """Return a room by id."""
        return next((room for room in self.rooms if room.id == room_id), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class HomesData:
    """The answer of ``homesdata``: the account's homes and its user."""

    homes: tuple[Home, ...] = ()
    user_email: str | None = None
    user_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, payload: Mapping[str, Any]) -> HomesData:
        """Parse the whole ``homesdata`` payload (with its ``body``).

        Raise :class:`InvalidResponseError` when ``body.homes`` is missing or not a
        list: an empty list means "no homes", a missing one means a broken answer.
        """
        body = payload.get("body")
        homes = body.get("homes") if isinstance(body, Mapping) else None
        if not isinstance(body, Mapping) or not isinstance(homes, list):
            raise InvalidResponseError("homesdata: the answer holds no list of homes")
        user = body.get("user")
        user = user if isinstance(user, Mapping) else {}
        return cls(
            homes=tuple(Home.from_api(home) for home in _dicts(homes)),
            user_email=_str(user, "email") or _str(user, "mail"),
            user_id=_str(user, "id") or _str(user, "_id"),
            raw=payload,
        )

    def home(self, home_id: str) -> Home | None:
        """Return a home by id."""
        return next((home for home in self.homes if home.id == home_id), None)


# --- homestatus (live state) ----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ModuleStatus:
    """Live state common to every module."""

    id: str
    type: str
    bridge: str | None = None
    reachable: bool | None = None
    firmware_revision: int | None = None
    last_seen: int | None = None
    rf_strength: int | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ModuleStatus:
        """Parse one entry of ``home.modules`` (picking the subclass by type)."""
        module_type = _str(data, "type") or ""
        parser = _STATUS_TYPES.get(module_type)
        if parser is not None:
            return parser.from_api(data)
        return ModuleStatus(**_common(data))


def _common(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(data["id"]),
        "type": _str(data, "type") or "",
        "bridge": _str(data, "bridge"),
        "reachable": _bool(data, "reachable"),
        "firmware_revision": _int(data, "firmware_revision"),
        "last_seen": _int(data, "last_seen"),
        "rf_strength": _int(data, "rf_strength"),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayStatus(ModuleStatus):
    """Live state of a gateway (NXG). It is reachable when the cloud reports it."""

    is_raining: bool | None = None
    wifi_strength: int | None = None
    wifi_state: str | None = None
    locked: bool | None = None
    locking: bool | None = None
    secure: bool | None = None
    busy: bool | None = None
    calibrating: bool | None = None
    pairing: bool | str | None = None
    hardware_version: int | None = None
    firmware_revision_netatmo: int | None = None
    firmware_revision_thirdparty: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> GatewayStatus:
        """Parse the status of a gateway."""
        common = _common(data)
        if common["reachable"] is None:
            common["reachable"] = True
        pairing = data.get("pairing")
        thirdparty = data.get("firmware_revision_thirdparty")
        return cls(
            **common,
            is_raining=_bool(data, "is_raining"),
            wifi_strength=_int(data, "wifi_strength"),
            wifi_state=_str(data, "wifi_state"),
            locked=_bool(data, "locked"),
            locking=_bool(data, "locking"),
            secure=_bool(data, "secure"),
            busy=_bool(data, "busy"),
            calibrating=_bool(data, "calibrating"),
            pairing=pairing if isinstance(pairing, bool | str) else None,
            hardware_version=_int(data, "hardware_version"),
            firmware_revision_netatmo=_int(data, "firmware_revision_netatmo"),
            firmware_revision_thirdparty=None if thirdparty is None else str(thirdparty),
        )

    @property
    def firmware(self) -> str | None:
        """Return a displayable firmware version (Netatmo part, third-party part)."""
        parts = [
            str(part)
            for part in (self.firmware_revision_netatmo, self.firmware_revision_thirdparty)
            if part is not None
        ]
        return " / ".join(parts) or None


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenerStatus(ModuleStatus):
    """Live state of an opener (NXO): window, shutter, blind, awning."""

    current_position: int | None = None
    target_position: int | None = None
    mode: str | None = None
    velux_type: str | None = None
    silent: bool | None = None
    manufacturer: str | None = None
    secure_position: int | None = None
    rain_position: int | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> OpenerStatus:
        """Parse the status of an opener."""
        return cls(
            **_common(data),
            current_position=_int(data, "current_position"),
            target_position=_int(data, "target_position"),
            mode=_str(data, "mode"),
            velux_type=_str(data, "velux_type"),
            silent=_bool(data, "silent"),
            manufacturer=_str(data, "manufacturer"),
            secure_position=_int(data, "secure_position"),
            rain_position=_int(data, "rain_position"),
        )

    @property
    def is_moving(self) -> bool:
        """Return True while the opener has not reached its target."""
        return (
            self.current_position is not None
            and self.target_position is not None
            and self.target_position >= 0
            and self.current_position != self.target_position
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BatteryModuleStatus(ModuleStatus):
    """Live state of a battery module: indoor sensor (NXS) or departure switch (NXD)."""

    battery_level: int | None = None
    battery_percent: int | None = None
    battery_state: str | None = None
    rf_state: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> BatteryModuleStatus:
        """Parse the status of a battery module."""
        return cls(
            **_common(data),
            battery_level=_int(data, "battery_level"),
            battery_percent=_int(data, "battery_percent"),
            battery_state=_str(data, "battery_state"),
            rf_state=_str(data, "rf_state"),
        )


_STATUS_TYPES: Final[dict[str, type[ModuleStatus]]] = {
    TYPE_GATEWAY: GatewayStatus,
    TYPE_OPENER: OpenerStatus,
    TYPE_SENSOR: BatteryModuleStatus,
    TYPE_SWITCH: BatteryModuleStatus,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RoomStatus:
    """Indoor climate of a room (measured by its NXS sensor).

    ``temperature_raw`` and the comfort temperatures are in tenths of a degree
    Celsius, as the cloud sends them; the properties convert.
    """

    id: str
    temperature_raw: int | None = None
    humidity: int | None = None
    co2: int | None = None
    lux: int | None = None
    air_quality: int | None = None
    algo_status: int | None = None
    max_comfort_co2: int | None = None
    min_comfort_humidity: int | None = None
    max_comfort_humidity: int | None = None
    min_comfort_temperature_raw: int | None = None
    max_comfort_temperature_raw: int | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> RoomStatus:
        """Parse one entry of ``home.rooms``."""
        return cls(
            id=str(data["id"]),
            temperature_raw=_int(data, "temperature"),
            humidity=_int(data, "humidity"),
            co2=_int(data, "co2"),
            lux=_int(data, "lux"),
            air_quality=_int(data, "air_quality"),
            algo_status=_int(data, "algo_status"),
            max_comfort_co2=_int(data, "max_comfort_co2"),
            min_comfort_humidity=_int(data, "min_comfort_humidity"),
            max_comfort_humidity=_int(data, "max_comfort_humidity"),
            min_comfort_temperature_raw=_int(data, "min_comfort_temperature"),
            max_comfort_temperature_raw=_int(data, "max_comfort_temperature"),
        )

    @property
    def temperature(self) -> float | None:
        """Return the temperature in degrees Celsius."""
        return tenths_to_celsius(self.temperature_raw)

    @property
    def min_comfort_temperature(self) -> float | None:
        """Return the lower comfort temperature in degrees Celsius."""
        return tenths_to_celsius(self.min_comfort_temperature_raw)

    @property
    def max_comfort_temperature(self) -> float | None:
        """Return the upper comfort temperature in degrees Celsius."""
        return tenths_to_celsius(self.max_comfort_temperature_raw)


def tenths_to_celsius(value: int | None) -> float | None:
    """Convert tenths of a degree (249) to degrees (24.9)."""
    return None if value is None else round(value / 10, 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusError:
    """A per-module error reported next to a status or command answer."""

    id: str
    code: int

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> StatusError:
        """Parse one entry of ``body.errors``."""
        return cls(id=str(data["id"]), code=_int(data, "code") or 0)


def _typed(data: Mapping[str, Any], module_types: Mapping[str, str] | None) -> Mapping[str, Any]:
    """Give a homestatus module without a ``type`` the type homesdata knows for it."""
    if _str(data, "type") or not module_types:
        return data
    fallback = module_types.get(str(data["id"]))
    return {**data, "type": fallback} if isinstance(fallback, str) and fallback else data


def _merge_entry(
    entry: Mapping[str, Any],
    update: Mapping[str, Any] | None,
    parsed: Mapping[str, ModuleStatus] | None,
) -> dict[str, Any]:
    merged = dict(entry)
    if parsed is not None and not _str(merged, "type"):
        known = parsed.get(str(entry["id"]))
        if known is not None and known.type:
            merged["type"] = known.type
    if update:
        merged.update({key: value for key, value in update.items() if key != "id"})
    return merged


@dataclass(frozen=True, slots=True, kw_only=True)
class HomeStatus:
    """The answer of ``homestatus`` for one home."""

    home_id: str
    modules: Mapping[str, ModuleStatus] = field(default_factory=dict)
    rooms: Mapping[str, RoomStatus] = field(default_factory=dict)
    errors: tuple[StatusError, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(
        cls,
        payload: Mapping[str, Any],
        home_id: str,
        module_types: Mapping[str, str] | None = None,
    ) -> HomeStatus:
        """Parse the whole ``homestatus`` payload (with its ``body``).

        ``module_types`` maps module ids to their type from ``homesdata``; it types
        the modules that homestatus lists without a ``type``.
        """
        body = _body(payload)
        home = body.get("home")
        home = home if isinstance(home, Mapping) else {}
        modules = (
            ModuleStatus.from_api(_typed(module, module_types))
            for module in _dicts(home.get("modules"))
        )
        rooms = (RoomStatus.from_api(room) for room in _dicts(home.get("rooms")))
        return cls(
            home_id=_str(home, "id") or home_id,
            modules={module.id: module for module in modules},
            rooms={room.id: room for room in rooms},
            errors=tuple(StatusError.from_api(error) for error in _dicts(body.get("errors"))),
            raw=payload,
        )

    def merged(
        self,
        modules: Mapping[str, Mapping[str, Any]] | None = None,
        rooms: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> HomeStatus:
        """Return a copy with partial module / room states (a realtime event) merged in.

        Fields of known modules and rooms are overwritten; ids this status does not
        list are ignored (the next ``homestatus`` poll brings them). Built from
        :attr:`raw`, so the answer's other content (errors) is kept.
        """
        body = dict(_body(self.raw))
        home = body.get("home")
        home = dict(home) if isinstance(home, Mapping) else {"id": self.home_id}
        home["modules"] = [
            _merge_entry(entry, (modules or {}).get(str(entry["id"])), self.modules)
            for entry in _dicts(home.get("modules"))
        ]
        home["rooms"] = [
            _merge_entry(entry, (rooms or {}).get(str(entry["id"])), None)
            for entry in _dicts(home.get("rooms"))
        ]
        body["home"] = home
        return HomeStatus.from_api({**self.raw, "body": body}, self.home_id)

    def gateway(self, module_id: str) -> GatewayStatus | None:
        """Return the status of a gateway."""
        status = self.modules.get(module_id)
        return status if isinstance(status, GatewayStatus) else None

    def opener(self, module_id: str) -> OpenerStatus | None:
        """Return the status of an opener."""
        status = self.modules.get(module_id)
        return status if isinstance(status, OpenerStatus) else None

    def battery_module(self, module_id: str) -> BatteryModuleStatus | None:
        """Return the status of a sensor or departure switch."""
        status = self.modules.get(module_id)
        return status if isinstance(status, BatteryModuleStatus) else None

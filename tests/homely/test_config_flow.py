"""The Homely account form and options (the generic flow is tested elsewhere)."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, section
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.velux_homely.api.homely import DEFAULT_BASE_URL
from custom_components.velux_homely.const import DOMAIN
from simulator.homely import (
    CABIN_LOCATION_ID,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    LOCATION_ID,
    USER_ID,
    HomelySimulator,
)
from simulator.homely_data import SimLocation

from .conftest import PANEL, make_entry, runtime_of


async def _form(hass: HomeAssistant) -> ConfigFlowResult:
    menu = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert menu["type"] is FlowResultType.MENU
    assert "homely" in menu["menu_options"]
    form = await hass.config_entries.flow.async_configure(
        menu["flow_id"], {"next_step_id": "homely"}
    )
    assert form["type"] is FlowResultType.FORM
    assert form["step_id"] == "homely"
    return form


def _fields(form: ConfigFlowResult) -> list[str]:
    assert form["data_schema"] is not None
    return [str(key) for key in form["data_schema"].schema]


def _advanced(form: ConfigFlowResult) -> section:
    """Return the form's "Advanced settings" section."""
    assert form["data_schema"] is not None
    schema = form["data_schema"].schema
    advanced = schema[next(key for key in schema if str(key) == "advanced")]
    assert isinstance(advanced, section)
    return advanced


def _account(sim: HomelySimulator, password: str = DEMO_PASSWORD) -> dict[str, Any]:
    """Return the account form's input for ``sim`` (the section's values nested)."""
    return {
        "username": DEMO_USERNAME,
        "password": password,
        "advanced": {"base_url": sim.base_url},
    }


async def test_service_address_is_in_a_collapsed_section(hass: HomeAssistant) -> None:
    form = await _form(hass)
    assert _fields(form) == ["username", "password", "advanced"]
    advanced = _advanced(form)
    assert advanced.options == {"collapsed": True}
    [base_url] = advanced.schema.schema
    assert str(base_url) == "base_url"
    assert base_url.default() == DEFAULT_BASE_URL


async def test_advanced_section_sets_the_service_address(
    hass: HomeAssistant, homely_sim: HomelySimulator
) -> None:
    form = await _form(hass)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"],
        {
            "username": f"  {DEMO_USERNAME} ",
            "password": DEMO_PASSWORD,
            "advanced": {"base_url": homely_sim.base_url + "/"},
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"Homely ({DEMO_USERNAME})"
    assert result["data"] == {
        "provider": "homely",
        "username": DEMO_USERNAME,
        "password": DEMO_PASSWORD,
        "base_url": homely_sim.base_url,
        "known_locations": {LOCATION_ID: "Demo Home", CABIN_LOCATION_ID: "Hytta"},
    }
    assert result["options"] == {"scan_interval": 8}
    entry = result["result"]
    assert entry.unique_id == f"homely:{USER_ID}"
    # validation: one login, one listing (the set-up of the new entry follows)
    assert [r.path for r in homely_sim.requests][:3] == [
        "/homely/oauth/token",
        "/homely/locations",
        "/homely/oauth/token",
    ]
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_default_address_is_not_stored(
    hass: HomeAssistant, homely_sim: HomelySimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from custom_components.velux_homely import homely
    from custom_components.velux_homely.homely import config_flow

    # the real service is unreachable from tests: make the simulator the default
    monkeypatch.setattr(config_flow, "DEFAULT_BASE_URL", homely_sim.base_url)
    account = await homely.PROVIDER.async_validate(
        hass, {"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
    )
    assert account.data == {
        "username": DEMO_USERNAME,
        "password": DEMO_PASSWORD,
        "known_locations": {LOCATION_ID: "Demo Home", CABIN_LOCATION_ID: "Hytta"},
    }


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("password", "invalid_auth"),
        ("rate_limit", "rate_limited"),
        ("server_error", "cannot_connect"),
        ("no_locations", "no_locations"),
    ],
)
async def test_errors(
    hass: HomeAssistant, homely_sim: HomelySimulator, fault: str, error: str
) -> None:
    password = DEMO_PASSWORD
    if fault == "password":
        password = "wrong"
    elif fault == "rate_limit":
        homely_sim.rate_limit_next(1, path="/homely/locations")
    elif fault == "server_error":
        homely_sim.fail_next(1, status=503, path="/homely/oauth/token")
    else:
        homely_sim.locations.clear()
    form = await _form(hass)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], _account(homely_sim, password)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    # the form keeps the e-mail and the service address, never the password
    assert result["data_schema"] is not None
    defaults = {
        str(key): key.default() for key in result["data_schema"].schema if callable(key.default)
    }
    assert defaults["username"] == DEMO_USERNAME
    assert "password" not in defaults
    [base_url] = _advanced(result).schema.schema
    assert base_url.default() == homely_sim.base_url


async def test_unreachable_address(hass: HomeAssistant, homely_sim: HomelySimulator) -> None:
    form = await _form(hass)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"],
        {
            "username": DEMO_USERNAME,
            "password": DEMO_PASSWORD,
            "advanced": {"base_url": "not a url"},
        },
    )
    assert result["errors"] == {"base": "cannot_connect"}


def _summary_without_user_id(location: SimLocation) -> dict[str, Any]:
    """Return the entry of ``location`` in ``GET /homely/locations``, without ``userId``."""
    return {"name": location.name, "locationId": location.location_id}


async def test_email_is_the_id_without_user_id(
    hass: HomeAssistant, homely_sim: HomelySimulator
) -> None:
    for location in homely_sim.locations.values():
        location.summary = partial(_summary_without_user_id, location)  # type: ignore[method-assign]
    form = await _form(hass)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {**_account(homely_sim), "username": DEMO_USERNAME.upper()}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}
    form = await _form(hass)
    homely_sim.username = DEMO_USERNAME.upper()
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {**_account(homely_sim), "username": DEMO_USERNAME.upper()}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == f"homely:{DEMO_USERNAME}"
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(result["result"].entry_id)


async def test_already_configured(hass: HomeAssistant, homely_sim: HomelySimulator) -> None:
    make_entry(homely_sim).add_to_hass(hass)
    form = await _form(hass)
    result = await hass.config_entries.flow.async_configure(form["flow_id"], _account(homely_sim))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_options_pick_locations(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    form = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert form["type"] is FlowResultType.FORM
    assert form["step_id"] == "homely"
    assert form["data_schema"] is not None
    schema = form["data_schema"].schema
    locations = next(key for key in schema if str(key) == "locations")
    selector = schema[locations]
    assert [(o["value"], o["label"]) for o in selector.config["options"]] == [
        (LOCATION_ID, "Demo Home"),
        (CABIN_LOCATION_ID, "Hytta"),
    ]
    assert selector.config["multiple"] is True
    with pytest.raises(Exception):  # noqa: B017, PT011
        await hass.config_entries.options.async_configure(
            form["flow_id"], {"locations": [CABIN_LOCATION_ID], "scan_interval": 0}
        )
    result = await hass.config_entries.options.async_configure(
        form["flow_id"], {"locations": [CABIN_LOCATION_ID], "scan_interval": 10}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options == {"locations": [CABIN_LOCATION_ID], "scan_interval": 10}
    await hass.async_block_till_done()
    # the entry reloaded with the one location and the new poll interval
    runtime = runtime_of(loaded_entry)
    assert list(runtime.coordinators) == [CABIN_LOCATION_ID]
    assert runtime.poll_interval == timedelta(minutes=10)
    assert PANEL.current(hass) is None


async def test_options_offer_no_interval_the_read_budget_cannot_keep(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    """A location is read at most twice in 15 minutes: the interval is 8 minutes at least
    (the default too), and an entry made with the earlier default of 2 is offered 8."""
    assert loaded_entry.options["scan_interval"] == 2
    form = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert form["data_schema"] is not None
    schema = form["data_schema"].schema
    key = next(key for key in schema if str(key) == "scan_interval")
    assert key.default() == 8
    assert key.description == {"suggested_value": 8}
    assert schema[key].validators[0].config["min"] == 8
    with pytest.raises(Exception):  # noqa: B017, PT011
        await hass.config_entries.options.async_configure(form["flow_id"], {"scan_interval": 7})
    result = await hass.config_entries.options.async_configure(
        form["flow_id"], {"scan_interval": 8}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options == {"scan_interval": 8}
    await hass.async_block_till_done()
    assert runtime_of(loaded_entry).poll_interval == timedelta(minutes=8)

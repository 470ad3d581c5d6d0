"""The generic parts of the config flow: menu, reauth, reconfigure, options, errors."""

from __future__ import annotations

import dataclasses
from http import HTTPStatus
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.velux_homely import providers
from custom_components.velux_homely.const import (
    CONF_BASE_URL,
    CONF_SCAN_INTERVAL,
    CONF_TOKEN,
    DOMAIN,
    PROVIDER_HOMELY,
    PROVIDER_VELUX,
)
from custom_components.velux_homely.types import SECTION_ADVANCED
from simulator.homely import (
    DEMO_PASSWORD as HOMELY_PASSWORD,
    DEMO_USERNAME as HOMELY_USERNAME,
    HomelySimulator,
)
from simulator.velux import DEMO_USERNAME, VeluxSimulator

from .helpers import entry_state
from .homely.conftest import entry_data as homely_entry_data, make_entry as make_homely_entry
from .netatmo.conftest import make_entry

FLOW_API = "/api/config/config_entries/flow"


async def test_menu_lists_every_provider(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "user"
    assert result["menu_options"] == [PROVIDER_VELUX, PROVIDER_HOMELY]


@pytest.mark.parametrize(
    ("provider", "advanced"),
    [
        (PROVIDER_VELUX, ["client_id", "client_secret", "base_url"]),
        (PROVIDER_HOMELY, ["base_url"]),
    ],
)
async def test_the_frontend_shows_a_collapsed_advanced_section(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, provider: str, advanced: list[str]
) -> None:
    """The form as the frontend receives it: the rarely needed settings folded away."""
    assert await async_setup_component(hass, "config", {})
    client = await hass_client()
    response = await client.post(FLOW_API, json={"handler": DOMAIN})
    menu = await response.json()
    response = await client.post(f"{FLOW_API}/{menu['flow_id']}", json={"next_step_id": provider})
    assert response.status == HTTPStatus.OK
    form = await response.json()
    assert form["step_id"] == provider
    fields = {field["name"]: field for field in form["data_schema"]}
    assert list(fields) == [CONF_USERNAME, CONF_PASSWORD, SECTION_ADVANCED]
    section = fields[SECTION_ADVANCED]
    assert section["type"] == "expandable"
    assert section["expanded"] is False
    assert [field["name"] for field in section["schema"]] == advanced
    assert all(field["default"] for field in section["schema"])


async def test_advanced_values_arrive_nested_from_the_frontend(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, homely_sim: HomelySimulator
) -> None:
    assert await async_setup_component(hass, "config", {})
    client = await hass_client()
    response = await client.post(FLOW_API, json={"handler": DOMAIN})
    flow_id = (await response.json())["flow_id"]
    await client.post(f"{FLOW_API}/{flow_id}", json={"next_step_id": PROVIDER_HOMELY})
    response = await client.post(
        f"{FLOW_API}/{flow_id}",
        json={
            CONF_USERNAME: HOMELY_USERNAME,
            CONF_PASSWORD: HOMELY_PASSWORD,
            SECTION_ADVANCED: {CONF_BASE_URL: homely_sim.base_url},
        },
    )
    assert response.status == HTTPStatus.OK
    result = await response.json()
    assert result["type"] == FlowResultType.CREATE_ENTRY
    [entry] = hass.config_entries.async_entries(DOMAIN)
    assert entry.data[CONF_BASE_URL] == homely_sim.base_url
    assert SECTION_ADVANCED not in entry.data
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_unexpected_error_is_unknown(hass: HomeAssistant, velux_sim: VeluxSimulator) -> None:
    async def boom(*_: Any) -> Any:
        raise RuntimeError("bug")

    spec = dataclasses.replace(providers.PROVIDERS[PROVIDER_VELUX], async_validate=boom)
    with patch.dict(providers.PROVIDERS, {PROVIDER_VELUX: spec}):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": PROVIDER_VELUX}
        )
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {CONF_USERNAME: DEMO_USERNAME, CONF_PASSWORD: "x", SECTION_ADVANCED: {}},
        )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "unknown"}


async def test_reauth_with_new_password(hass: HomeAssistant, velux_sim: VeluxSimulator) -> None:
    entry = make_entry(velux_sim)
    entry.add_to_hass(hass)
    velux_sim.set_password("new-password")
    velux_sim.revoke_tokens()
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    [flow] = hass.config_entries.flow.async_progress()
    assert flow["context"]["source"] == "reauth"
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_PASSWORD: "wrong"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["errors"] == {"base": "invalid_auth"}
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert placeholders["username"] == DEMO_USERNAME
    assert placeholders["provider"] == "VELUX ACTIVE"
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_PASSWORD: "new-password"}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_PASSWORD] == "new-password"
    assert entry.data[CONF_BASE_URL] == velux_sim.base_url
    assert entry.data[CONF_TOKEN]["access_token"]
    assert entry_state(entry) is ConfigEntryState.LOADED


async def test_reconfigure_shows_and_keeps_the_advanced_settings(
    hass: HomeAssistant, velux_sim: VeluxSimulator
) -> None:
    entry = make_entry(velux_sim)
    entry.add_to_hass(hass)
    velux_sim.set_password("changed")
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["data_schema"] is not None
    schema = {str(key): key for key in result["data_schema"].schema}
    assert list(schema) == [CONF_USERNAME, CONF_PASSWORD, SECTION_ADVANCED]
    assert schema[CONF_USERNAME].default() == DEMO_USERNAME
    # the entry's service address, in the collapsed section
    advanced = result["data_schema"].schema[schema[SECTION_ADVANCED]]
    assert advanced.options == {"collapsed": True}
    defaults = {str(key): key.default() for key in advanced.schema.schema}
    assert defaults[CONF_BASE_URL] == velux_sim.base_url
    # the user leaves the section as shown
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_USERNAME: DEMO_USERNAME, CONF_PASSWORD: "old", SECTION_ADVANCED: {}},
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_USERNAME: DEMO_USERNAME, CONF_PASSWORD: "changed", SECTION_ADVANCED: {}},
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_PASSWORD] == "changed"
    assert entry.data[CONF_BASE_URL] == velux_sim.base_url


async def test_reconfigure_to_another_account_is_refused(
    hass: HomeAssistant, velux_sim: VeluxSimulator
) -> None:
    other = VeluxSimulator(username="someone@else.example", password="pw")
    await other.start()
    try:
        entry = make_entry(velux_sim)
        entry.add_to_hass(hass)
        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {
                CONF_USERNAME: "someone@else.example",
                CONF_PASSWORD: "pw",
                SECTION_ADVANCED: {CONF_BASE_URL: other.base_url},
            },
        )
    finally:
        await other.stop()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert entry.data[CONF_USERNAME] == DEMO_USERNAME


@pytest.mark.parametrize("source", ["reauth", "reconfigure"])
async def test_new_homely_credentials_keep_what_the_entry_stored(
    hass: HomeAssistant, homely_sim: HomelySimulator, source: str
) -> None:
    """Only credentials, tokens and the service address come from the form."""
    entry = make_homely_entry(homely_sim)
    stored = {"stored_by_the_runtime": {"kept": True}}
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, data=homely_entry_data(homely_sim, **stored))
    homely_sim.set_password("new-password")
    if source == "reauth":
        result = await entry.start_reauth_flow(hass)
        answer: dict[str, Any] = {CONF_PASSWORD: "new-password"}
    else:
        result = await entry.start_reconfigure_flow(hass)
        answer = {
            CONF_USERNAME: HOMELY_USERNAME,
            CONF_PASSWORD: "new-password",
            SECTION_ADVANCED: {CONF_BASE_URL: homely_sim.base_url},
        }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], answer)
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == f"{source}_successful"
    assert entry.data[CONF_PASSWORD] == "new-password"
    assert entry.data["stored_by_the_runtime"] == {"kept": True}
    assert entry.data[CONF_BASE_URL] == homely_sim.base_url
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_options_change_reloads_but_data_updates_do_not(
    hass: HomeAssistant, homely_sim: HomelySimulator
) -> None:
    entry = make_homely_entry(homely_sim)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    runtime = entry.runtime_data

    # new tokens, a renamed location: entry data changes without a reload
    hass.config_entries.async_update_entry(entry, data={**entry.data, "extra": 1})
    await hass.async_block_till_done()
    assert entry.runtime_data is runtime

    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == PROVIDER_HOMELY
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: 10}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {CONF_SCAN_INTERVAL: 10}
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is not runtime

    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry_state(entry) is ConfigEntryState.NOT_LOADED

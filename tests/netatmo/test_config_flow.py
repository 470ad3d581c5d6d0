"""Config flow branches of the VELUX ACTIVE account step."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
import pytest

from custom_components.velux_homely.api.netatmo import VELUX_ACTIVE
from custom_components.velux_homely.const import (
    CONF_BASE_URL,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_PROVIDER,
    CONF_SCAN_INTERVAL,
    CONF_TOKEN,
    DOMAIN,
    PROVIDER_VELUX,
)
from simulator.velux import DEMO_PASSWORD, DEMO_USERNAME, VeluxSimulator

from .conftest import SetupEntry


async def open_form(hass: HomeAssistant, advanced: bool = True) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER, "show_advanced_options": advanced}
    )
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": PROVIDER_VELUX}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == PROVIDER_VELUX
    return dict(result)


def user_input(sim: VeluxSimulator, **values: Any) -> dict[str, Any]:
    return {
        CONF_USERNAME: DEMO_USERNAME.upper(),
        CONF_PASSWORD: DEMO_PASSWORD,
        CONF_CLIENT_ID: VELUX_ACTIVE.client_id,
        CONF_CLIENT_SECRET: VELUX_ACTIVE.client_secret,
        CONF_BASE_URL: sim.base_url + "/",
        **values,
    }


async def test_form_fields(hass: HomeAssistant) -> None:
    simple = await open_form(hass, advanced=False)
    assert [str(key) for key in simple["data_schema"].schema] == [CONF_USERNAME, CONF_PASSWORD]
    advanced = await open_form(hass)
    fields = {str(key): key for key in advanced["data_schema"].schema}
    assert list(fields) == [
        CONF_USERNAME,
        CONF_PASSWORD,
        CONF_CLIENT_ID,
        CONF_CLIENT_SECRET,
        CONF_BASE_URL,
    ]
    assert fields[CONF_CLIENT_ID].default() == VELUX_ACTIVE.client_id
    assert fields[CONF_BASE_URL].default() == "https://app.velux-active.com"


async def test_success_with_advanced_fields(hass: HomeAssistant, velux_sim: VeluxSimulator) -> None:
    form = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(form["flow_id"], user_input(velux_sim))
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"VELUX ACTIVE ({DEMO_USERNAME})"
    entry = result["result"]
    assert entry.unique_id == f"{PROVIDER_VELUX}:{DEMO_USERNAME}"
    data = dict(entry.data)
    token = data.pop(CONF_TOKEN)
    # Default client identity is not stored; the changed address is (without "/").
    assert data == {
        CONF_PROVIDER: PROVIDER_VELUX,
        CONF_USERNAME: DEMO_USERNAME.upper(),
        CONF_PASSWORD: DEMO_PASSWORD,
        CONF_BASE_URL: velux_sim.base_url,
    }
    assert token["access_token"]
    assert token["refresh_token"]
    assert entry.options == {CONF_SCAN_INTERVAL: 60}
    # The validation logged in once; set-up reused its token.
    assert velux_sim.password_logins == 1
    assert velux_sim.requests[0].form["grant_type"] == "password"


async def test_other_client_identity_is_stored(
    hass: HomeAssistant, velux_sim: VeluxSimulator
) -> None:
    velux_sim.client_id = "my-id"
    velux_sim.client_secret = "my-secret"
    form = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"],
        user_input(velux_sim, **{CONF_CLIENT_ID: "my-id", CONF_CLIENT_SECRET: "my-secret"}),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_CLIENT_ID] == "my-id"
    assert result["data"][CONF_CLIENT_SECRET] == "my-secret"
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("invalid_auth", "invalid_auth"),
        ("cannot_connect", "cannot_connect"),
        ("token_page", "cannot_connect"),
        ("no_body", "cannot_connect"),
        ("rate_limited", "rate_limited"),
        ("no_homes", "no_homes"),
    ],
)
async def test_errors(
    hass: HomeAssistant, velux_sim: VeluxSimulator, fault: str, error: str
) -> None:
    values: dict[str, Any] = {}
    if fault == "invalid_auth":
        values[CONF_PASSWORD] = "wrong"
    elif fault == "cannot_connect":
        velux_sim.fail_next(1, status=502, path="/api/homesdata")
    elif fault == "token_page":
        # A maintenance page of the token endpoint says nothing about the password.
        velux_sim.reply_next(1, payload="<html>Down</html>", status=403, path="/oauth2/token")
    elif fault == "no_body":
        # A broken homesdata answer is not an account without homes.
        velux_sim.reply_next(1, payload={"status": "ok", "body": {}}, path="/api/homesdata")
    elif fault == "rate_limited":
        velux_sim.rate_limit_next(1, kind="error26", path="/oauth2/token")
    else:
        velux_sim.remove_home_gateways()
    form = await open_form(hass)

    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], user_input(velux_sim, **values)
    )

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    # The form keeps what was typed, except the password.
    fields = {str(key): key for key in result["data_schema"].schema}
    assert fields[CONF_USERNAME].default() == DEMO_USERNAME.upper()
    assert fields[CONF_BASE_URL].default() == velux_sim.base_url + "/"

    # Fixing the cause creates the entry.
    velux_sim.clear_faults()
    if fault == "no_homes":
        return
    result = await hass.config_entries.flow.async_configure(form["flow_id"], user_input(velux_sim))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_unreachable_address(hass: HomeAssistant, socket_enabled: Any) -> None:
    sim = VeluxSimulator()
    await sim.start()
    await sim.stop()
    form = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(form["flow_id"], user_input(sim))
    assert result["errors"] == {"base": "cannot_connect"}


async def test_already_configured(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    await setup_entry()
    form = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(form["flow_id"], user_input(velux_sim))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_scan_interval_option(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry()
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == PROVIDER_VELUX
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            result["flow_id"], {CONF_SCAN_INTERVAL: 10}
        )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: "45"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {CONF_SCAN_INTERVAL: 45}
    await hass.async_block_till_done()

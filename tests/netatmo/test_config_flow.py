"""Config flow branches of the VELUX ACTIVE account step."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta
from typing import Any

from homeassistant.components.cover import CoverEntityFeature
from homeassistant.config_entries import SOURCE_USER, ConfigFlowResult
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowHandler, FlowResultType, InvalidData, section
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

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
from custom_components.velux_homely.netatmo.const import CONF_OPEN_IN_RAIN
from custom_components.velux_homely.types import SECTION_ADVANCED
from simulator.velux import (
    DEMO_PASSWORD,
    DEMO_USERNAME,
    GATEWAY_ID,
    SMALL_GATEWAY_ID,
    SMALL_HOME_ID,
    WINDOW_ID,
    VeluxSimulator,
)
from tests.helpers import current, resolve

from .conftest import KEY, KEY_ID, SetupEntry, keyed_entry, make_entry, silent_port
from .entities import WINDOW


async def open_form(hass: HomeAssistant) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": PROVIDER_VELUX}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == PROVIDER_VELUX
    return dict(result)


ADVANCED = (CONF_CLIENT_ID, CONF_CLIENT_SECRET, CONF_BASE_URL)


def user_input(sim: VeluxSimulator, **values: Any) -> dict[str, Any]:
    """Return the account form's input, the advanced settings nested in their section."""
    flat = {
        CONF_USERNAME: DEMO_USERNAME.upper(),
        CONF_PASSWORD: DEMO_PASSWORD,
        CONF_CLIENT_ID: VELUX_ACTIVE.client_id,
        CONF_CLIENT_SECRET: VELUX_ACTIVE.client_secret,
        CONF_BASE_URL: sim.base_url + "/",
        **values,
    }
    top = {key: value for key, value in flat.items() if key not in ADVANCED}
    return {**top, SECTION_ADVANCED: {key: flat[key] for key in ADVANCED}}


def form_fields(form: dict[str, Any]) -> dict[str, Any]:
    """Return the form's fields by name, those of the advanced section included."""
    fields: dict[str, Any] = {}
    for key, value in form["data_schema"].schema.items():
        if str(key) == SECTION_ADVANCED:
            assert isinstance(value, section)
            fields.update({str(inner): inner for inner in value.schema.schema})
        else:
            fields[str(key)] = key
    return fields


async def test_form_fields(hass: HomeAssistant) -> None:
    form = await open_form(hass)
    schema = form["data_schema"].schema
    assert [str(key) for key in schema] == [CONF_USERNAME, CONF_PASSWORD, SECTION_ADVANCED]
    advanced = schema[next(key for key in schema if str(key) == SECTION_ADVANCED)]
    # Rarely needed: collapsed, on every release, for every user.
    assert advanced.options == {"collapsed": True}
    fields = form_fields(form)
    assert [str(key) for key in advanced.schema.schema] == list(ADVANCED)
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
    assert entry.options == {CONF_SCAN_INTERVAL: 60, CONF_OPEN_IN_RAIN: False}
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
    fields = form_fields(dict(result))
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


async def open_options(hass: HomeAssistant, entry: Any, step: str) -> ConfigFlowResult:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "init"
    assert result["menu_options"] == ["settings", "signing_key", "pair_gateway"]
    return await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": step}
    )


async def test_settings(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry()
    result = await open_options(hass, entry, "settings")
    assert result["step_id"] == "settings"
    assert result["data_schema"] is not None
    assert [str(key) for key in result["data_schema"].schema] == [
        CONF_SCAN_INTERVAL,
        "open_in_rain",
    ]
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            result["flow_id"], {CONF_SCAN_INTERVAL: 10, "open_in_rain": False}
        )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: "45", "open_in_rain": True}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {CONF_SCAN_INTERVAL: 45, "open_in_rain": True}
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    ("sign_key_id", "hash_sign_key"),
    [
        # standard base64 with padding, as the app shows it
        (base64.b64encode(KEY_ID).decode(), base64.b64encode(KEY).decode()),
        # base64url without padding, with stray spaces
        (
            " " + base64.urlsafe_b64encode(KEY_ID).decode().rstrip("=") + " ",
            base64.urlsafe_b64encode(KEY).decode().rstrip("="),
        ),
    ],
)
async def test_a_pasted_signing_key_opens_the_windows(
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,
    setup_entry: SetupEntry,
    sign_key_id: str,
    hash_sign_key: str,
) -> None:
    entry = await setup_entry()
    issues = ir.async_get(hass)
    issue_id = f"signing_key_{entry.entry_id}_{GATEWAY_ID}"
    assert issues.async_get_issue(DOMAIN, issue_id) is not None
    velux_sim.add_signing_key(GATEWAY_ID, KEY_ID, KEY)

    result = await open_options(hass, entry, "signing_key")
    assert result["step_id"] == "signing_key"
    # Two gateways: the form asks which one, listed with their names.
    assert result["data_schema"] is not None
    fields = {str(key): key for key in result["data_schema"].schema}
    assert list(fields) == ["gateway", "sign_key_id", "hash_sign_key"]
    options = result["data_schema"].schema[fields["gateway"]].config["options"]
    assert options == [
        {"value": GATEWAY_ID, "label": f"VELUX ACTIVE gateway ({GATEWAY_ID})"},
        {"value": SMALL_GATEWAY_ID, "label": f"Cabin gateway ({SMALL_GATEWAY_ID})"},
    ]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"gateway": GATEWAY_ID, "sign_key_id": sign_key_id, "hash_sign_key": hash_sign_key},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    stored = entry.data["signing_keys"][GATEWAY_ID]
    assert stored == {
        "sign_key_id": base64.urlsafe_b64encode(KEY_ID).decode(),
        "hash_sign_key": base64.urlsafe_b64encode(KEY).decode(),
    }
    assert entry.options == {CONF_SCAN_INTERVAL: 60}
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, issue_id) is None
    # No reload needed: the window opens (the simulator verifies the signature).
    window = current(hass, WINDOW)
    assert window is not None
    assert window.attributes["supported_features"] & CoverEntityFeature.OPEN
    await hass.services.async_call(
        "cover", "open_cover", {"entity_id": resolve(hass, WINDOW)}, blocking=True
    )
    assert velux_sim.target(WINDOW_ID) == 100


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        (
            {"sign_key_id": "not base64!", "hash_sign_key": "A" * 44},
            {"sign_key_id": "invalid_sign_key_id"},
        ),
        (
            {"sign_key_id": base64.b64encode(bytes(15)).decode(), "hash_sign_key": "A" * 44},
            {"sign_key_id": "invalid_sign_key_id"},
        ),
        (
            {
                "sign_key_id": base64.b64encode(KEY_ID).decode(),
                "hash_sign_key": base64.b64encode(bytes(31)).decode(),
            },
            {"hash_sign_key": "invalid_hash_sign_key"},
        ),
    ],
)
async def test_a_bad_signing_key_is_refused_in_the_form(
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,
    setup_entry: SetupEntry,
    values: dict[str, str],
    errors: dict[str, str],
) -> None:
    entry = await setup_entry()
    result = await open_options(hass, entry, "signing_key")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"gateway": GATEWAY_ID, **values}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert "signing_keys" not in entry.data


async def test_one_gateway_needs_no_gateway_field(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    velux_sim.remove_home(SMALL_HOME_ID)
    entry = await setup_entry()
    result = await open_options(hass, entry, "signing_key")
    assert result["data_schema"] is not None
    assert [str(key) for key in result["data_schema"].schema] == ["sign_key_id", "hash_sign_key"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "sign_key_id": base64.b64encode(KEY_ID).decode(),
            "hash_sign_key": base64.b64encode(KEY).decode(),
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert set(entry.data["signing_keys"]) == {GATEWAY_ID}
    result = await open_options(hass, entry, "pair_gateway")
    assert result["data_schema"] is not None
    assert [str(key) for key in result["data_schema"].schema] == ["host"]


async def _pair(hass: HomeAssistant, entry: Any, host: str) -> dict[str, Any]:
    result = await open_options(hass, entry, "pair_gateway")
    assert result["step_id"] == "pair_gateway"
    assert result["data_schema"] is not None
    assert [str(key) for key in result["data_schema"].schema] == ["gateway", "host"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"gateway": GATEWAY_ID, "host": host}
    )
    return dict(result)


async def _finish(
    hass: HomeAssistant, result: dict[str, Any], freezer: Any = None
) -> dict[str, Any]:
    """Let the pairing run to its end (moving the clock when given) and return what follows.

    The pairing is a task of the flow, waiting on a real socket or on the clock: the loop
    runs without waiting for every task to end.
    """
    for _ in range(2000):
        if result["type"] is not FlowResultType.SHOW_PROGRESS:
            return result
        for _ in range(20):
            await asyncio.sleep(0)
        if freezer is not None:
            freezer.tick(timedelta(seconds=1))
            async_fire_time_changed(hass)
        result = dict(await hass.config_entries.options.async_configure(result["flow_id"]))
    raise AssertionError("the pairing did not end")


async def test_pairing_with_the_gateway_stores_its_key(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry()
    gateway = velux_sim.netcom(GATEWAY_ID)
    result = await _pair(hass, entry, f"127.0.0.1:{gateway.port}")
    # A progress step shows while the cloud opens the gateway's listener and it pairs.
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["progress_action"] == "pair_gateway"
    result = await _finish(hass, result)
    assert velux_sim.retrieve_key_requests == [GATEWAY_ID]
    assert result["type"] is FlowResultType.CREATE_ENTRY
    stored = entry.data["signing_keys"][GATEWAY_ID]
    assert velux_sim.signing_keys[GATEWAY_ID][stored["sign_key_id"]] == base64.urlsafe_b64decode(
        stored["hash_sign_key"]
    )
    await hass.async_block_till_done()
    await hass.services.async_call(
        "cover",
        "set_cover_position",
        {"entity_id": resolve(hass, WINDOW), "position": 30},
        blocking=True,
    )
    assert velux_sim.target(WINDOW_ID) == 30


@pytest.mark.parametrize("how", ["pair", "paste"])
async def test_a_new_key_after_a_gateway_reset_clears_the_repair(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, how: str
) -> None:
    """The gateway forgot its keys: Open fails and a repair says so, until a new key is stored."""
    entry = await setup_entry(keyed_entry(velux_sim))
    keys = dict(entry.data["signing_keys"])
    velux_sim.remove_signing_keys(GATEWAY_ID)  # the reset
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "cover", "open_cover", {"entity_id": resolve(hass, WINDOW)}, blocking=True
        )
    assert err.value.translation_key == "signing_key_refused"
    issues = ir.async_get(hass)
    issue_id = f"signing_key_{entry.entry_id}_{GATEWAY_ID}"
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "signing_key_refused"
    assert entry.data["signing_keys"] == keys  # kept until the user stores another

    if how == "pair":
        gateway = velux_sim.netcom(GATEWAY_ID)
        result = await _finish(hass, await _pair(hass, entry, f"127.0.0.1:{gateway.port}"))
    else:
        new_key_id = velux_sim.add_signing_key(GATEWAY_ID, bytes(16), KEY[::-1])
        form = await open_options(hass, entry, "signing_key")
        result = dict(
            await hass.config_entries.options.async_configure(
                form["flow_id"],
                {
                    "gateway": GATEWAY_ID,
                    "sign_key_id": new_key_id,
                    "hash_sign_key": base64.b64encode(KEY[::-1]).decode(),
                },
            )
        )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.data["signing_keys"] != keys
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, issue_id) is None
    await hass.services.async_call(
        "cover", "open_cover", {"entity_id": resolve(hass, WINDOW)}, blocking=True
    )
    assert velux_sim.target(WINDOW_ID) == 100
    assert issues.async_get_issue(DOMAIN, issue_id) is None


@pytest.mark.parametrize(
    ("knob", "error"),
    [
        ({"key_result": 1}, "pair_refused"),
        ({"key_result": 2}, "pair_bad_key_id"),
        ({"key_result": 3}, "pair_key_table_full"),
        ({"close_at": "ecdh"}, "pair_connection"),
    ],
)
async def test_pairing_failures_are_shown_in_the_form(
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,
    setup_entry: SetupEntry,
    knob: dict[str, Any],
    error: str,
) -> None:
    entry = await setup_entry()
    gateway = velux_sim.netcom(GATEWAY_ID)
    for name, value in knob.items():
        setattr(gateway, name, value)
    result = await _finish(hass, await _pair(hass, entry, f"127.0.0.1:{gateway.port}"))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "pair_gateway"
    assert result["errors"] == {"base": error}
    assert "signing_keys" not in entry.data


async def test_pairing_with_a_port_that_refuses_all_along(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, freezer: Any
) -> None:
    """The listener never opens (not the gateway's address, or the button is not pressed):
    every connection is refused for the whole window, and the form says so."""
    entry = await setup_entry()
    gateway = velux_sim.netcom(GATEWAY_ID)
    gateway.button_pressed = False
    result = await _pair(hass, entry, f"127.0.0.1:{gateway.port}")
    result = await _finish(hass, result, freezer)
    assert result["step_id"] == "pair_gateway"
    assert result["errors"] == {"base": "pair_connection_refused"}
    placeholders = result["description_placeholders"]
    assert placeholders["host"] == "127.0.0.1"
    assert placeholders["host_port"] == str(gateway.port)
    assert placeholders["port"] == "25050"
    assert "signing_keys" not in entry.data


async def test_pairing_times_out_when_nothing_answers(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, freezer: Any
) -> None:
    entry = await setup_entry()
    with silent_port() as port:
        result = await _finish(hass, await _pair(hass, entry, f"127.0.0.1:{port}"), freezer)
    assert result["errors"] == {"base": "pair_timeout"}


@pytest.mark.parametrize("ha_cancels", [True, False], ids=["ha_cancels", "flow_cancels"])
async def test_closing_the_dialog_stops_the_pairing(  # noqa: PLR0917
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,
    setup_entry: SetupEntry,
    freezer: Any,
    monkeypatch: pytest.MonkeyPatch,
    ha_cancels: bool,
) -> None:
    """The user closes the progress dialog: no connection is tried any more, no key taken.

    Home Assistant cancels the task of a progress step itself; without that (an older
    release, a task it does not know) the flow's ``async_remove`` must.
    """
    if not ha_cancels:
        monkeypatch.setattr(FlowHandler, "async_cancel_progress_task", lambda _self: None)
    entry = await setup_entry()
    gateway = velux_sim.netcom(GATEWAY_ID)
    gateway.button_pressed = False
    result = await _pair(hass, entry, f"127.0.0.1:{gateway.port}")
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    for _ in range(3):  # knocking on the closed port
        freezer.tick(timedelta(seconds=1))
        async_fire_time_changed(hass)
        for _ in range(20):
            await asyncio.sleep(0)
    hass.config_entries.options.async_abort(result["flow_id"])
    # The listener opens now: the abandoned pairing must not take a key from the gateway.
    gateway.button_pressed = True
    assert await gateway.open()
    for _ in range(5):
        freezer.tick(timedelta(seconds=1))
        async_fire_time_changed(hass)
        for _ in range(50):
            await asyncio.sleep(0)
    await hass.async_block_till_done()
    assert gateway.connections == 0
    assert gateway.pairings == 0
    assert "signing_keys" not in entry.data


@pytest.mark.parametrize("host", ["", "not a host", "10.0.0.1:99999", "[::1"])
async def test_a_bad_address_is_refused(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, host: str
) -> None:
    entry = await setup_entry()
    result = await _pair(hass, entry, host)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"host": "invalid_host"}
    assert velux_sim.retrieve_key_requests == []


async def test_pairing_when_the_cloud_cannot_reach_the_gateway(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry()
    velux_sim.set_reachable(GATEWAY_ID, False)
    result = await _finish(hass, await _pair(hass, entry, "127.0.0.1:1"))
    assert result["errors"] == {"base": "retrieve_key_failed"}


async def test_keys_need_a_loaded_entry(hass: HomeAssistant, velux_sim: VeluxSimulator) -> None:
    entry = make_entry(velux_sim)
    entry.add_to_hass(hass)
    for step in ("signing_key", "pair_gateway"):
        result = await open_options(hass, entry, step)
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "not_loaded"


@pytest.mark.parametrize("source", ["reauth", "reconfigure"])
async def test_new_credentials_keep_the_keys_and_the_nonces(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, source: str
) -> None:
    """A new password changes the credentials and tokens only: the gateway stays paired."""
    entry = await setup_entry(keyed_entry(velux_sim))
    keys = dict(entry.data["signing_keys"])
    await hass.services.async_call(
        "cover", "open_cover", {"entity_id": resolve(hass, WINDOW)}, blocking=True
    )
    nonce_state = entry.data["signing_nonce"]
    old_token = entry.data[CONF_TOKEN]
    velux_sim.set_password("new-password")

    if source == "reauth":
        result = await entry.start_reauth_flow(hass)
        assert result["step_id"] == "reauth_confirm"
        answer: dict[str, Any] = {CONF_PASSWORD: "new-password"}
    else:
        result = await entry.start_reconfigure_flow(hass)
        assert result["step_id"] == "reconfigure"
        answer = user_input(
            velux_sim, **{CONF_USERNAME: DEMO_USERNAME, CONF_PASSWORD: "new-password"}
        )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], answer)
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == f"{source}_successful"
    assert entry.data[CONF_PASSWORD] == "new-password"
    assert entry.data[CONF_TOKEN] != old_token
    assert entry.data["signing_keys"] == keys
    assert entry.data["signing_nonce"] == nonce_state
    issues = ir.async_get(hass)
    assert issues.async_get_issue(DOMAIN, f"signing_key_{entry.entry_id}_{GATEWAY_ID}") is None
    # Reloaded, in the same second: the window still opens, with a pair never used before
    # (the simulator refuses a reused one with code 28).
    window = current(hass, WINDOW)
    assert window is not None
    assert window.attributes["supported_features"] & CoverEntityFeature.OPEN
    await hass.services.async_call(
        "cover",
        "set_cover_position",
        {"entity_id": resolve(hass, WINDOW), "position": 40},
        blocking=True,
    )
    assert velux_sim.target(WINDOW_ID) == 40
    first, second = (body["home"]["modules"][0] for body in velux_sim.setstate_bodies)
    assert (first["timestamp"], first["nonce"]) != (second["timestamp"], second["nonce"])

"""Metadata a user or HACS reads: manifest, hacs.json, quality scale, form labels."""

from __future__ import annotations

from collections.abc import Iterable
import json
from pathlib import Path
import re
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, section
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import yaml

from custom_components.velux_homely.const import CONF_PROVIDER, DOMAIN
from custom_components.velux_homely.providers import PROVIDERS

ROOT = Path(__file__).parent.parent
INTEGRATION = ROOT / "custom_components" / DOMAIN
STRINGS = json.loads((INTEGRATION / "strings.json").read_text(encoding="utf-8"))


def test_manifest() -> None:
    manifest = json.loads((INTEGRATION / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["domain"] == INTEGRATION.name
    assert manifest["config_flow"] is True
    assert manifest["integration_type"] == "hub"
    assert manifest["iot_class"] == "cloud_push"
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    for key in ("name", "codeowners", "documentation", "issue_tracker"):
        assert manifest[key], key
    assert any(req.startswith("python-socketio") for req in manifest["requirements"])


def test_hacs() -> None:
    hacs = json.loads((ROOT / "hacs.json").read_text(encoding="utf-8"))
    assert hacs["name"]
    assert hacs["homeassistant"] == "2025.4.0"
    assert hacs["render_readme"] is True


def test_quality_scale_rules_have_a_status_and_reasons() -> None:
    rules = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text(encoding="utf-8"))
    for name, rule in rules["rules"].items():
        status = rule if isinstance(rule, str) else rule["status"]
        assert status in ("done", "todo", "exempt"), name
        if status != "done":
            assert rule["comment"], name


def test_brand_images() -> None:
    for name in ("icon.png", "icon@2x.png", "logo.png", "logo@2x.png"):
        assert (INTEGRATION / "brand" / name).read_bytes().startswith(b"\x89PNG"), name


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_every_account_field_has_a_label(provider: str) -> None:
    """Each field of the account and reconfigure forms, and of their sections, is translated."""
    schema = PROVIDERS[provider].account_schema({}).schema
    fields = {str(key) for key, value in schema.items() if not isinstance(value, section)}
    sections = {str(key): value for key, value in schema.items() if isinstance(value, section)}
    assert set(sections) == {"advanced"}
    for step in (provider, "reconfigure"):
        strings = STRINGS["config"]["step"][step]
        _assert_labelled(strings, fields, step)
        for name, form_section in sections.items():
            labels = strings["sections"][name]
            assert labels["name"], (step, name)
            _assert_labelled(labels, {str(key) for key in form_section.schema.schema}, step)
    assert provider in STRINGS["config"]["step"]["user"]["menu_options"]


def _assert_labelled(strings: dict[str, Any], fields: set[str], where: str) -> None:
    assert fields <= set(strings["data"]), (where, fields - set(strings["data"]))
    described = set(strings["data_description"])
    assert fields <= described, (where, fields - described)


@pytest.mark.parametrize("provider", list(PROVIDERS))
async def test_every_option_has_a_label(hass: HomeAssistant, provider: str) -> None:
    """Each options form (behind the menu, if any) labels and describes its fields."""
    entry = MockConfigEntry(domain=DOMAIN, data={CONF_PROVIDER: provider})
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    forms = [result]
    if result["type"] is FlowResultType.MENU:
        menu = STRINGS["options"]["step"][result["step_id"]]["menu_options"]
        options = result["menu_options"]
        assert isinstance(options, Iterable)  # the step ids, or a dict of them and their labels
        assert set(options) <= set(menu)
        forms = []
        for option in options:
            flow = await hass.config_entries.options.async_init(entry.entry_id)
            forms.append(
                await hass.config_entries.options.async_configure(
                    flow["flow_id"], {"next_step_id": option}
                )
            )
    shown = [form for form in forms if form["type"] is FlowResultType.FORM]
    assert shown
    for form in shown:
        assert form["data_schema"] is not None
        fields = {str(key) for key in form["data_schema"].schema}
        _assert_labelled(STRINGS["options"]["step"][form["step_id"]], fields, form["step_id"])

"""Metadata a user or HACS reads: manifest, hacs.json, quality scale, form labels."""

from __future__ import annotations

import json
from pathlib import Path
import re

from homeassistant.core import HomeAssistant
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
@pytest.mark.parametrize("advanced", [False, True])
def test_every_account_field_has_a_label(provider: str, advanced: bool) -> None:
    """Each field of the account, reconfigure and options forms is translated."""
    spec = PROVIDERS[provider]
    fields = {str(key) for key in spec.account_schema(advanced, {}).schema}
    for step in (provider, "reconfigure"):
        data = STRINGS["config"]["step"][step]["data"]
        described = STRINGS["config"]["step"][step]["data_description"]
        assert fields <= set(data), (step, fields - set(data))
        assert fields <= set(described), (step, fields - set(described))
    assert provider in STRINGS["config"]["step"]["user"]["menu_options"]


@pytest.mark.parametrize("provider", list(PROVIDERS))
async def test_every_option_has_a_label(hass: HomeAssistant, provider: str) -> None:
    entry = MockConfigEntry(domain=DOMAIN, data={CONF_PROVIDER: provider})
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    fields = {str(key) for key in result["data_schema"].schema}
    step = STRINGS["options"]["step"][result["step_id"]]
    assert fields <= set(step["data"])
    assert fields <= set(step["data_description"])

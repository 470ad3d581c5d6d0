"""A user's first hour, in Debian's chromium against the demo (scripts/demo).

Log in, add a VELUX ACTIVE and a Homely account through the web interface (the service
address is an advanced setting: a collapsed "Advanced settings" section of the form when
there is one, else the fields that Advanced mode on the user profile shows), see wrong input
rejected in the form, close a shutter from its dashboard card, see the alarm panel follow the
simulator, open the options flow. Every step saves a screenshot in .artifacts/browser/; a step
that does not appear fails with the page's text.

What the test relies on (keep stable, or change it here too): the integration's name in the
manifest, the translations in translations/en.json (menu options, error texts), the form field
names ``username``, ``password``, ``base_url``, the menu step ids ``velux_active`` and
``homely``, the simulator's demo devices ("Roller shutter" in the VELUX room "Living room",
the Homely location "Demo Home") and its control port (``python -m simulator --control-port``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
import json
import os
import re
import time
import urllib.request

from playwright.sync_api import Error as PlaywrightError, Locator, Page, expect
import pytest

from .conftest import ARTIFACTS, PROJECT, Demo, publish_screenshots

INTEGRATION = PROJECT / "custom_components" / "velux_homely"
NAME = json.loads((INTEGRATION / "manifest.json").read_text())["name"]
STRINGS = json.loads((INTEGRATION / "translations" / "en.json").read_text())
MENU = STRINGS["config"]["step"]["user"]["menu_options"]
ERRORS = STRINGS["config"]["error"]
OPTIONS_MENU = STRINGS["options"]["step"]["init"]["menu_options"]
USER, PASSWORD = "demo", "demo-demo"  # scripts/demo_setup.py
VELUX = {"username": "demo@velux.example", "password": "velux-demo"}
HOMELY = {"username": "demo@homely.example", "password": "homely-demo"}
# Never resolves (RFC 2606): the real cloud's name lookup fails the same way offline, and
# a broken resolver (pycares 5 under aiodns 3.2) answered "Unexpected error" instead.
UNREACHABLE = "https://app.velux-active.invalid"
TIMEOUT = 30_000  # ms, for each thing a step waits for

# Shadow-DOM-piercing text of what is visible, for failure messages.
PAGE_TEXT_JS = """() => {
  const out = [];
  const walk = (root) => {
    for (const node of root.childNodes) {
      if (node.nodeType === Node.TEXT_NODE) {
        const text = node.textContent.trim();
        const parent = node.parentElement;
        if (text && parent && (!parent.checkVisibility || parent.checkVisibility())) out.push(text);
      } else if (node.nodeType === Node.ELEMENT_NODE) {
        if (node.shadowRoot) walk(node.shadowRoot);
        walk(node);
      }
    }
  };
  walk(document);
  return out.join(" | ");
}"""
# The frontend is usable: connected, the user known, the main view rendered.
READY_JS = """() => {
  const ha = document.querySelector("home-assistant");
  const hass = ha && ha.hass;
  return !!(hass && hass.connected && hass.user && hass.states && ha.shadowRoot
    && ha.shadowRoot.querySelector("home-assistant-main"));
}"""


def page_text(page: Page, limit: int = 6000) -> str:
    """Return the visible text of the page (shadow roots included), cut at ``limit``."""
    try:
        text = str(page.evaluate(PAGE_TEXT_JS))
    except PlaywrightError as err:
        return f"(no page text: {err})"
    return text if len(text) <= limit else text[:limit] + " ..."


class Steps:
    """Numbered steps: a screenshot after each, the page's text when one fails."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.count = 0
        self.shots: list[str] = []
        self.times: list[tuple[str, float]] = []

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        self.count += 1
        label = f"{self.count:02d}-{name}"
        start = time.monotonic()
        try:
            yield
        except (AssertionError, PlaywrightError) as err:
            shot = ARTIFACTS / f"{label}-FAILED.png"
            with suppress(PlaywrightError):
                self.page.screenshot(path=shot)
            message = str(err).split("\nCall log:", 1)[0]
            pytest.fail(
                f"step {label} failed: {message}\n  url: {self.page.url}\n  screenshot: {shot}"
                f"\n  page text: {page_text(self.page)}",
                pytrace=False,
            )
        self.page.screenshot(path=ARTIFACTS / f"{label}.png")
        self.shots.append(f"{label}.png")
        self.times.append((label, time.monotonic() - start))


def wait_frontend(page: Page, timeout: float = 90) -> None:
    """Wait until the frontend is loaded and stays loaded (no reload) for 2 seconds.

    Right after login the frontend may reload once; clicking during that reload loses the
    click, so a document must stay ready (same ``performance.timeOrigin``) for a while.
    """
    deadline = time.monotonic() + timeout
    origin, since = None, 0.0
    while True:
        try:
            ready = bool(page.evaluate(READY_JS))
            now_origin = page.evaluate("performance.timeOrigin") if ready else None
        except PlaywrightError:  # navigating: the context went away
            ready, now_origin = False, None
        if ready and now_origin == origin:
            if time.monotonic() - since >= 2:
                return
        else:
            origin, since = now_origin, time.monotonic()
        if time.monotonic() > deadline:
            raise AssertionError(f"the frontend did not finish loading in {timeout} s")
        time.sleep(0.25)


def visible(locator: Locator) -> Locator:
    """The first visible match (the frontend keeps hidden copies of some views)."""
    return locator.filter(visible=True).first


def goto(page: Page, demo: Demo, path: str) -> None:
    """Open a page of the frontend and wait for it to load."""
    page.goto(demo.ha + path)
    wait_frontend(page)


def flow_dialog(page: Page) -> Locator:
    """The config or options flow dialog (the newest one).

    Not filtered for visibility: the dialog's host element has no box of its own (its
    content is drawn by the dialog inside its shadow root)."""
    return page.locator("dialog-data-entry-flow").last


def field(dialog: Locator, name: str) -> Locator:
    """A form field by its key (the input's name, also inside a section)."""
    return dialog.locator(f"input[name={name}]").first


def open_account_form(page: Page, demo: Demo, provider: str) -> Locator:
    """Settings > Devices & services > Add integration > the integration > the cloud."""
    for attempt in range(3):
        goto(page, demo, "/config/integrations/dashboard")
        visible(page.get_by_role("button", name="Add integration")).click()
        expect(visible(page.get_by_text("Select brand"))).to_be_visible(timeout=TIMEOUT)
        page.keyboard.type(NAME.split(" ", 1)[0])
        # In the brand picker, not the integration's card behind it (once an account exists).
        picker = visible(page.locator("dialog-add-integration").get_by_text(NAME, exact=True))
        try:
            picker.click(timeout=10_000)
            break
        except PlaywrightError:
            # Right after a flow ends the frontend may navigate once more, closing the
            # picker it had just opened: open it again.
            if attempt == 2:
                raise
    dialog = flow_dialog(page)
    expect(dialog.get_by_text(MENU[provider])).to_be_visible(timeout=TIMEOUT)
    dialog.get_by_text(MENU[provider]).click()
    expect(field(dialog, "username")).to_be_visible(timeout=TIMEOUT)
    return dialog


def reveal_advanced(dialog: Locator, provider: str) -> bool:
    """Show the service address: expand the collapsed section when the form has one."""
    base_url = field(dialog, "base_url")
    if base_url.count() and base_url.is_visible():
        return True
    panels = dialog.locator("ha-expansion-panel")
    if not panels.count():
        return False
    sections = STRINGS["config"]["step"][provider].get("sections", {})
    names = [s["name"] for s in sections.values() if isinstance(s, dict) and s.get("name")]
    panel = panels.filter(has_text=re.compile("|".join(map(re.escape, names)) or "Advanced"))
    (panel.first if panel.count() else panels.first).click()
    expect(base_url).to_be_visible(timeout=TIMEOUT)
    return True


def enable_advanced_mode(page: Page, demo: Demo) -> None:
    """Profile > Advanced mode on (the form then shows the advanced fields)."""
    goto(page, demo, "/profile/general")
    row = visible(page.locator("ha-settings-row").filter(has_text="Advanced mode"))
    toggle = row.get_by_role("switch")
    if not toggle.is_checked():
        toggle.click()
    expect(toggle).to_be_checked(timeout=TIMEOUT)


def account_form(page: Page, demo: Demo, provider: str) -> Locator:
    """Open the account form with the service address shown, whichever way the form has."""
    dialog = open_account_form(page, demo, provider)
    if not reveal_advanced(dialog, provider):
        enable_advanced_mode(page, demo)
        dialog = open_account_form(page, demo, provider)
        if not reveal_advanced(dialog, provider):
            raise AssertionError("no service address field, even in advanced mode")
    return dialog


def fill(dialog: Locator, values: dict[str, str]) -> None:
    """Fill the form fields and submit."""
    for name, value in values.items():
        box = field(dialog, name)
        if not (box.count() and box.is_visible()):
            # An answer with an error draws the form anew, its section folded again.
            panels = dialog.locator("ha-expansion-panel:not([expanded])")
            for index in range(panels.count()):
                panels.nth(index).click()
            expect(box).to_be_visible(timeout=TIMEOUT)
        box.fill(value)
    dialog.get_by_role("button", name="Submit").click()


def expect_error(dialog: Locator, key: str) -> None:
    """The form shows the translated error ``key`` (and not "Unexpected error")."""
    error = dialog.get_by_text(ERRORS[key])
    deadline = time.monotonic() + TIMEOUT / 1000
    while not (error.count() and error.first.is_visible()):
        if ERRORS["unknown"] != ERRORS[key] and dialog.get_by_text(ERRORS["unknown"]).count():
            raise AssertionError(f"the form answered {ERRORS['unknown']!r}, not {ERRORS[key]!r}")
        if time.monotonic() > deadline:
            raise AssertionError(f"the form did not show {ERRORS[key]!r}")
        time.sleep(0.2)


def expect_created(dialog: Locator) -> None:
    """The flow created the entry: its last step offers "Finish"."""
    expect(dialog.get_by_role("button", name="Finish")).to_be_visible(timeout=TIMEOUT)


def close_dialog(page: Page, dialog: Locator, button: str) -> None:
    """Click ``button`` of the dialog and wait for it to close."""
    dialog.get_by_role("button", name=button).click()
    # The dialog goes (some releases keep its element a while, hidden).
    expect(page.get_by_role("button", name=button, exact=True)).to_have_count(0, timeout=TIMEOUT)


def arm_alarm(demo: Demo, state: str) -> None:
    """Tell the simulator that someone armed the Homely alarm (its control port)."""
    request = urllib.request.Request(  # noqa: S310 - the simulator on loopback
        f"{demo.control}/_sim/homely/alarm",
        data=json.dumps({"state": state}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
        assert resp.status == 200, resp.read()


def tile(page: Page, name: str) -> Locator:
    """The dashboard's tile card of an entity, by the name it shows."""
    return visible(page.locator("hui-tile-card").filter(has=page.get_by_text(name, exact=True)))


def test_first_hour(page: Page, demo: Demo) -> None:
    """Log in, add both accounts, use the dashboard, open the options."""
    step = Steps(page)
    page.set_default_timeout(TIMEOUT)
    started = time.monotonic()

    with step("login"):
        page.goto(demo.ha + "/")
        page.locator("input[name=username]").fill(USER)
        page.locator("input[name=password]").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/auth/" not in url, timeout=TIMEOUT)
        wait_frontend(page)

    # VELUX ACTIVE: the form, a cloud that cannot be reached, a wrong password, success.
    with step("velux-form"):
        dialog = account_form(page, demo, "velux_active")
    with step("velux-cannot-connect"):
        fill(dialog, {**VELUX, "password": "wrong", "base_url": UNREACHABLE})
        expect_error(dialog, "cannot_connect")
    with step("velux-wrong-password"):
        fill(dialog, {**VELUX, "password": "wrong", "base_url": demo.velux})
        expect_error(dialog, "invalid_auth")
    with step("velux-added"):
        fill(dialog, {**VELUX, "base_url": demo.velux})
        expect_created(dialog)
    close_dialog(page, dialog, "Finish")

    # Homely: the form with the simulator's address, success.
    with step("homely-form"):
        dialog = account_form(page, demo, "homely")
    with step("homely-added"):
        fill(dialog, {**HOMELY, "base_url": demo.homely})
        expect_created(dialog)
    with step("homely-finished"):
        close_dialog(page, dialog, "Finish")

    # The dashboard: the shutter's card in its room; close it and see it closed.
    with step("dashboard"):
        goto(page, demo, "/")
        visible(page.locator("hui-area-card").filter(has_text="Living Room")).click()
        shutter = tile(page, "Roller shutter")
        expect(shutter).to_contain_text("Open", timeout=TIMEOUT)
    with step("shutter-closed"):
        shutter.get_by_role("button", name="Close cover").click()
        expect(shutter).to_contain_text("Closed", timeout=60_000)

    # The alarm panel follows the simulator: someone arms the alarm in the Homely app.
    with step("alarm-disarmed"):
        goto(page, demo, "/")
        # The summary card's text is in its shadow root: match it with get_by_text.
        summary = page.locator("hui-home-summary-card")
        visible(summary.filter(has=page.get_by_text("Security", exact=True))).click()
        alarm = tile(page, "Demo Home")
        alarm.scroll_into_view_if_needed()
        expect(alarm).to_contain_text("Disarmed", timeout=TIMEOUT)
    with step("alarm-armed"):
        arm_alarm(demo, "ARMED_AWAY")
        expect(alarm).to_contain_text("Armed away", timeout=TIMEOUT)

    # The options of the VELUX account: a menu (settings, signing key, pairing).
    with step("options"):
        goto(page, demo, "/config/integrations/integration/velux_homely")
        row = visible(page.locator("ha-config-entry-row").filter(has_text=VELUX["username"]))
        row.get_by_role("button", name="Configure").first.click()
        dialog = flow_dialog(page)  # its host element has no box: look at what it shows
        for label in OPTIONS_MENU.values():
            expect(visible(dialog.get_by_text(label, exact=True))).to_be_visible(timeout=TIMEOUT)
    with step("options-settings"):
        visible(dialog.get_by_text(OPTIONS_MENU["settings"], exact=True)).click()
        settings = STRINGS["options"]["step"]["settings"]["data"]
        interval = dialog.get_by_role(
            "spinbutton", name=re.compile(re.escape(settings["scan_interval"]))
        )
        expect(interval).to_have_value("60", timeout=TIMEOUT)
        expect(
            dialog.get_by_role("switch", name=re.compile(re.escape(settings["open_in_rain"])))
        ).not_to_be_checked()

    total = time.monotonic() - started
    print(f"\nbrowser steps ({total:.0f} s in all):")
    for label, seconds in step.times:
        print(f"  {label:<28} {seconds:5.1f} s")
    if os.environ.get("VH_BROWSER_DOCS") == "1":
        publish_screenshots()
        print("screenshots copied to docs/browser/")

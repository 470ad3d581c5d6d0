from homeassistant.core import HomeAssistant
from simulator.velux import VeluxSimulator
from simulator.homely import HomelySimulator
from tests.netatmo.conftest import make_entry, velux_sim, setup_entry, only_platforms, runtime_of  # noqa
from tests.faults.truth import velux_differences, homely_differences, compared, velux_expected, homely_expected

async def test_v(hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry) -> None:
    entry = await setup_entry()
    print("VELUX", compared(hass, entry), len(velux_expected(velux_sim, entry)), velux_differences(hass, entry, velux_sim))

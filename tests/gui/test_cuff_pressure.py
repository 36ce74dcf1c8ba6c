"""The NIBP tile shows the cuff's live inflation pressure (BLE Intermediate Cuff Pressure) while a
measurement is under way, and the result once it arrives."""

from monitor.core import LiveStore
from monitor.readings import Reading
from ui.tiles import TilesPanel

T = 1_800_000_000.0


def test_inflation_pressure_then_result(qtbot):
    store = LiveStore()
    panel = TilesPanel(store)
    qtbot.addWidget(panel)
    store.add_reading(Reading("ble:cuff", "nibp_sys", T, 128))
    store.add_reading(Reading("ble:cuff", "nibp_dia", T, 82))
    store.add_reading(Reading("ble:cuff", "nibp_map", T, 97))
    for i, p in enumerate((40, 95, 142)):
        store.add_reading(Reading("ble:cuff", "cuff", T + 300 + i, p))
    panel.refresh(T + 302.5)
    assert "Cuff inflating 142 mmHg" in panel.nibp.note_text
    assert panel.nibp.value_text == "128/82"  # the last result stays until the new one arrives

    store.add_reading(Reading("ble:cuff", "nibp_sys", T + 330, 151))
    store.add_reading(Reading("ble:cuff", "nibp_dia", T + 330, 94))
    panel.refresh(T + 331)
    assert "inflating" not in panel.nibp.note_text and panel.nibp.value_text == "151/94"


def test_stale_cuff_pressure_is_not_shown(qtbot):
    store = LiveStore()
    panel = TilesPanel(store)
    qtbot.addWidget(panel)
    store.add_reading(Reading("ble:cuff", "cuff", T, 120))
    panel.refresh(T + 1)
    assert "Cuff inflating 120 mmHg" in panel.nibp.note_text
    panel.refresh(T + 60)
    assert "inflating" not in panel.nibp.note_text

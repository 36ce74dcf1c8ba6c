"""The device setup dialog against the real serial catalog and a simulated Nonin on a TCP port:
discovered ports listed, "Test" shows decoded values live, add and remove go through the store."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from app.device_store import JsonDeviceStore
from devices.serial_catalog import SerialCatalog
from devices.sim.protocol_sims import TcpSimulator
from monitor.clock import SessionClock
from monitor.ports import DeviceConfig
from ui.device_dialog import DeviceDialog


@pytest.fixture
def catalog(monkeypatch):
    fake = SimpleNamespace(device="/dev/ttyUSB0", vid=0x10C4, pid=0xEA60, product="CP2102 USB to UART Bridge Controller",
                           description="CP2102", manufacturer="Silicon Labs", serial_number="0001", location=None)  # fmt: skip
    monkeypatch.setattr("devices.serial_catalog.list_ports.comports", lambda: [fake])
    return SerialCatalog()


def test_test_button_shows_live_values_then_add_and_remove(qtbot, tmp_path, catalog):
    clock = SessionClock()
    store = JsonDeviceStore(tmp_path / "devices.json")
    dialog = DeviceDialog([catalog], store, clock, test_seconds=30.0)
    qtbot.addWidget(dialog)
    assert "10c4:ea60" in dialog.port_combo.itemText(0) and "Silicon Labs" in dialog.port_combo.itemText(0)

    with TcpSimulator("nonin-2", clock, "baseline") as sim:
        dialog.protocol_combo.setCurrentIndex(dialog.protocol_combo.findData("nonin-2"))
        dialog.port_combo.setEditText(sim.url)
        dialog.label_edit.setText("Bedside oximeter")
        dialog.test_button.click()
        qtbot.waitUntil(lambda: "SpO₂" in dialog.test_label.text() and "PR" in dialog.test_label.text(), timeout=8000)
        assert "streaming" in dialog.test_label.text()
        dialog.stop_test()
    assert dialog.test_button.isEnabled()

    with qtbot.waitSignal(dialog.devices_changed) as sig:
        assert dialog.add_device()
    expected = [DeviceConfig("serial", "nonin-2", sim.url, "Bedside oximeter", None)]
    assert sig.args[0] == expected and store.load() == expected
    assert dialog.saved_list.count() == 1 and "Bedside oximeter" in dialog.saved_list.item(0).text()
    assert not dialog.add_device() and "already" in dialog.last_error

    dialog.saved_list.setCurrentRow(0)
    assert dialog.remove_selected()
    assert store.load() == [] and dialog.saved_list.count() == 0
    dialog.close()


def test_missing_port_and_damaged_store_are_explained(qtbot, tmp_path, catalog):
    path = tmp_path / "devices.json"
    path.write_text("garbage")
    dialog = DeviceDialog([catalog], JsonDeviceStore(path), SessionClock())
    qtbot.addWidget(dialog)
    assert "damaged" in dialog.message_label.text()
    dialog.port_combo.setEditText("")
    assert dialog.current_config() is None and "port" in dialog.last_error
    dialog.close()


def test_main_window_devices_button_asks_the_app(qtbot, window):
    with qtbot.waitSignal(window.devices_requested):
        window.devices_button.click()


def test_bluetooth_unavailable_is_said_in_the_dialog_and_serial_still_works(qtbot, tmp_path, catalog):
    """No D-Bus / BlueZ / adapter here: choosing Bluetooth says so plainly; the serial side carries on."""
    from devices.ble.catalog import BleCatalog

    ble = BleCatalog()  # the real bleak scanner
    try:
        dialog = DeviceDialog([catalog, ble], JsonDeviceStore(tmp_path / "devices.json"), SessionClock())
        qtbot.addWidget(dialog)
        dialog.transport_combo.setCurrentIndex(dialog.transport_combo.findData("ble"))
        qtbot.waitUntil(lambda: "Bluetooth is not available on this computer" in dialog.last_error, timeout=10_000)
        assert dialog.port_combo.count() == 0
        dialog.transport_combo.setCurrentIndex(dialog.transport_combo.findData("serial"))
        assert "10c4:ea60" in dialog.port_combo.itemText(0)
        dialog.close()
    finally:
        ble.close()

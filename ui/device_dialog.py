"""The device setup dialog: add a device (transport, protocol, discovered port or typed URL, baud),
"Test" it live before saving, list and remove the remembered ones.

It only knows ``monitor.ports`` interfaces: the catalogs (serial, BLE, ...) discover ports and make
drivers, the store remembers the list; ``app`` passes both in. "Test" runs a driver into a private
sink (never into the session's core, so nothing is recorded) for ``test_seconds`` and shows the
decoded values as they arrive.
"""

from __future__ import annotations

import logging
import math
import threading

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from monitor.channels import CHANNELS, format_value
from monitor.clock import Clock
from monitor.errors import KnownError
from monitor.ports import DeviceCatalog, DeviceConfig, DeviceConfigStore, DeviceInfo, Driver
from monitor.readings import DeviceStatus, Quality, Reading, WaveformBlock
from ui import theme

log = logging.getLogger(__name__)

BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


class _TestSink:
    """Collects what a driver under test delivers (any thread); the dialog polls it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.latest: dict[str, Reading] = {}
        self.samples = 0
        self.status: DeviceStatus | None = None
        self.count = 0

    def register_device(self, info: DeviceInfo) -> None:
        pass

    def put_readings(self, readings: list[Reading]) -> None:
        with self._lock:
            for r in readings:
                self.latest[r.channel] = r
            self.count += len(readings)

    def put_waveform(self, block: WaveformBlock) -> None:
        with self._lock:
            self.samples += block.n

    def put_status(self, status: DeviceStatus) -> None:
        with self._lock:
            self.status = status

    def latest_line(self) -> str:
        """The device test's latest values in one line (what the nurse sees while testing)."""
        with self._lock:
            latest, samples, status, count = dict(self.latest), self.samples, self.status, self.count
        parts = []
        for ch, r in sorted(latest.items()):
            value = "--" if math.isnan(r.value) else format_value(ch, r.value)
            mark = "" if r.quality is Quality.OK else f" ({r.quality.name.lower()})"
            parts.append(f"{CHANNELS[ch].label} {value}{mark}")
        if samples:
            parts.append(f"waveform: {samples} samples")
        state = f"{status.state.value}" + (f": {status.detail}" if status and status.detail else "") if status else "starting"
        return f"{state} — {count} values" + (": " + ", ".join(parts) if parts else "")


class DeviceDialog(QDialog):
    """Emits ``devices_changed(list[DeviceConfig])`` after every successful save."""

    devices_changed = Signal(object)

    def __init__(
        self,
        catalogs: list[DeviceCatalog],
        store: DeviceConfigStore,
        clock: Clock,
        *,
        test_seconds: float = 5.0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Devices")
        self.setMinimumWidth(640)
        self._catalogs = {c.transport: c for c in catalogs}
        self._store = store
        self._clock = clock
        self._test_seconds = test_seconds
        self._test_driver: Driver | None = None
        self._test_sink: _TestSink | None = None
        self._test_left_ms = 0
        self.last_error = ""
        try:
            self._configs = list(store.load())
        except KnownError as exc:
            self._configs = []
            self.last_error = str(exc)

        self.saved_list = QListWidget()
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)

        self.transport_combo = QComboBox()
        for t in self._catalogs:
            self.transport_combo.addItem(t, t)
        self.protocol_combo = QComboBox()
        self.port_combo = QComboBox()
        self.port_combo.setEditable(True)
        self.port_combo.lineEdit().setPlaceholderText("pick a port, or type one: /dev/ttyUSB0, COM3, socket://host:port")
        self.rescan_button = QPushButton("Rescan")
        self.rescan_button.clicked.connect(self.rescan)
        self.baud_combo = QComboBox()
        self.baud_combo.addItem("protocol default", None)
        for b in BAUD_RATES:
            self.baud_combo.addItem(str(b), b)
        self.label_edit = QLineEdit()
        self.label_edit.setPlaceholderText("what the nurse calls it, e.g. Bedside oximeter")
        self.test_button = QPushButton("Test")
        self.test_button.clicked.connect(self.start_test)
        self.add_button = QPushButton("Add device")
        self.add_button.clicked.connect(self.add_device)
        self.test_label = QLabel("")
        self.test_label.setWordWrap(True)
        self.message_label = QLabel(self.last_error)
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet(f"color: {theme.STATE_BAD};")

        port_row = QHBoxLayout()
        port_row.addWidget(self.port_combo, 1)
        port_row.addWidget(self.rescan_button)
        form = QFormLayout()
        form.addRow("Connection", self.transport_combo)
        form.addRow("Protocol", self.protocol_combo)
        form.addRow("Port", port_row)
        form.addRow("Baud rate", self.baud_combo)
        form.addRow("Name", self.label_edit)
        buttons_row = QHBoxLayout()
        buttons_row.addWidget(self.test_button)
        buttons_row.addStretch(1)
        buttons_row.addWidget(self.add_button)
        add_box = QGroupBox("Add a device")
        add_layout = QVBoxLayout(add_box)
        add_layout.addLayout(form)
        add_layout.addLayout(buttons_row)
        add_layout.addWidget(self.test_label)

        saved_box = QGroupBox("Devices of this workstation (connected at start)")
        saved_layout = QVBoxLayout(saved_box)
        saved_layout.addWidget(self.saved_list)
        saved_layout.addWidget(self.remove_button)

        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(saved_box)
        layout.addWidget(add_box)
        layout.addWidget(self.message_label)
        layout.addWidget(close)

        self._timer = QTimer(self)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self._poll_test)
        self.transport_combo.currentIndexChanged.connect(self._on_transport_changed)
        self._on_transport_changed()
        self._refresh_saved()

    # ---- lists -----------------------------------------------------------------------------------
    def configs(self) -> list[DeviceConfig]:
        return list(self._configs)

    def _catalog(self) -> DeviceCatalog | None:
        return self._catalogs.get(self.transport_combo.currentData())

    @Slot()
    def _on_transport_changed(self) -> None:
        catalog = self._catalog()
        self.protocol_combo.clear()
        if catalog is not None:
            for name in catalog.protocols():
                self.protocol_combo.addItem(name, name)
        self.rescan()

    @Slot()
    def rescan(self) -> None:
        """List the transport's ports with vendor/product so the oximeter is told from the printer."""
        catalog = self._catalog()
        typed = self.port_combo.currentText()
        self.port_combo.clear()
        if catalog is None:
            return
        try:
            found = catalog.discover(2.0)
        except KnownError as exc:
            self._show_error(str(exc))
            found = []
        for dev in found:
            text = f"{dev.address} — {dev.name}" + (f" ({dev.detail})" if dev.detail else "")
            self.port_combo.addItem(text, dev)
        self.port_combo.setEditText(typed if typed else (self.port_combo.itemText(0) if found else ""))

    def _refresh_saved(self) -> None:
        self.saved_list.clear()
        for c in self._configs:
            baud = f", {c.baud} baud" if c.baud else ""
            self.saved_list.addItem(f"{c.label} — {c.protocol} on {c.address}{baud}")
        self.remove_button.setEnabled(bool(self._configs))

    # ---- the form --------------------------------------------------------------------------------
    def current_config(self) -> DeviceConfig | None:
        """The form as a DeviceConfig; None (and the reason shown) when something is missing."""
        transport = self.transport_combo.currentData()
        protocol = self.protocol_combo.currentData()
        address = self._address()
        if not transport or not protocol:
            self._show_error("Choose a connection type and a protocol.")
            return None
        if not address:
            self._show_error("Choose a port from the list or type one (e.g. /dev/ttyUSB0, COM3, socket://host:port).")
            return None
        label = self.label_edit.text().strip() or f"{protocol} on {address}"
        return DeviceConfig(transport, protocol, address, label, self.baud_combo.currentData())

    def _address(self) -> str:
        text = self.port_combo.currentText().strip()
        index = self.port_combo.findText(text)
        if index >= 0:
            dev = self.port_combo.itemData(index)
            if dev is not None:
                return str(dev.address)
        return text.split(" — ", 1)[0].strip()

    def _show_error(self, message: str) -> None:
        self.last_error = message
        self.message_label.setText(message)

    # ---- test ------------------------------------------------------------------------------------
    @Slot()
    def start_test(self) -> None:
        """Run the device for ``test_seconds`` into a private sink and show what it decodes."""
        self.stop_test()
        config = self.current_config()
        catalog = self._catalog()
        if config is None or catalog is None:
            return
        try:
            driver = catalog.make_driver(config, self._clock)
        except KnownError as exc:
            self._show_error(str(exc))
            return
        self._show_error("")
        self._test_sink = _TestSink()
        self._test_driver = driver
        driver.start(self._test_sink)
        self._test_left_ms = int(self._test_seconds * 1000)
        self.test_button.setEnabled(False)
        self.test_label.setText("testing…")
        self._timer.start()

    @Slot()
    def _poll_test(self) -> None:
        if self._test_sink is None:
            return
        self.test_label.setText(self._test_sink.latest_line())
        self._test_left_ms -= self._timer.interval()
        if self._test_left_ms <= 0:
            self.stop_test()

    def stop_test(self) -> None:
        self._timer.stop()
        driver, self._test_driver = self._test_driver, None
        if driver is not None:
            driver.stop(2.0)
            if self._test_sink is not None:
                self.test_label.setText("Test finished: " + self._test_sink.latest_line())
        self.test_button.setEnabled(True)

    # ---- save / remove ---------------------------------------------------------------------------
    @Slot()
    def add_device(self) -> bool:
        config = self.current_config()
        if config is None:
            return False
        if any(c.transport == config.transport and c.address == config.address for c in self._configs):
            self._show_error(f"{config.address} is already in the list; remove it first to change it.")
            return False
        return self._save([*self._configs, config])

    @Slot()
    def remove_selected(self) -> bool:
        row = self.saved_list.currentRow()
        if not 0 <= row < len(self._configs):
            self._show_error("Select a device in the list to remove it.")
            return False
        return self._save(self._configs[:row] + self._configs[row + 1 :])

    def _save(self, configs: list[DeviceConfig]) -> bool:
        try:
            self._store.save(configs)
        except KnownError as exc:
            self._show_error(str(exc))
            return False
        self._configs = configs
        self._show_error("")
        self._refresh_saved()
        self.devices_changed.emit(list(configs))
        return True

    def done(self, result: int) -> None:
        self.stop_test()
        super().done(result)

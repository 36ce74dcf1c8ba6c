"""Entry dialogs for clinician observations: dose, MOAA/S, CADSS, RASS, adverse events, manual
vitals, markers (note / intervention / phase / therapy), pre-dose checklist, BP caution
acknowledgement, discharge — and amendment of any of them.

Every dialog builds its observation with the ``monitor.observations`` builders (which validate) and
hands it to ``submit``; the dialog closes only after ``submit`` returned, i.e. after the recording
committed it (house style §6). A refusal is shown inside the dialog, which stays open with what was
typed, and nothing is stored. All of it works from the keyboard: Tab / arrows / digits / Enter.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, Slot
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from monitor import observations as ob
from monitor.clock import Clock
from monitor.errors import KnownError
from monitor.instruments import (
    AE_ITEMS,
    CADSS_ANCHORS,
    CADSS_ITEMS,
    CADSS_NAME,
    MOAAS_LEVELS,
    MOAAS_NAME,
    RASS_LEVELS,
    RASS_NAME,
    score_cadss,
)
from monitor.observations import Observation, ObservationError, ObsKind
from monitor.schedule import ProtocolTemplate
from ui import theme

log = logging.getLogger(__name__)

#: Commits an observation (``Core.record_observation``); raises on refusal; returns warnings.
Submit = Callable[[Observation], tuple[str, ...]]


class ObservationDialog(QDialog):
    """Common frame: the author, an optional amendment reason, an error line and Save/Cancel."""

    title = "Observation"

    def __init__(
        self, clock: Clock, author: str, submit: Submit, *, original: Observation | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._clock = clock
        self._submit = submit
        self.original = original
        self.saved: Observation | None = None
        self.warnings: tuple[str, ...] = ()
        self.setWindowTitle(("Amend: " if original else "") + self.title)
        self.body = QVBoxLayout()
        self.author_edit = QLineEdit(author)
        self.author_edit.setPlaceholderText("your name (required)")
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText("what was wrong (required for an amendment)")
        self.error_label = QLabel("")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {theme.STATE_BAD};")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setDefault(True)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Recorded by", self.author_edit)
        if original is not None:
            form.addRow("Reason for amendment", self.reason_edit)
            orig = QLabel(f"Original (stays in the record): {ob.describe(original)} — {original.author}")
            orig.setWordWrap(True)
            form.addRow(orig)
        outer = QVBoxLayout(self)
        outer.addLayout(self.body, 1)
        outer.addLayout(form)
        outer.addWidget(self.error_label)
        outer.addWidget(self.buttons)

    def observed_at(self) -> float:
        """When it was observed: now, or the original's time for an amendment."""
        return self.original.t if self.original is not None else self._clock.now()

    def build(self, t: float, author: str) -> Observation:  # pragma: no cover - overridden
        raise NotImplementedError

    @Slot()
    def save(self) -> bool:
        """Build, validate, commit; close only once committed. False (message shown) if refused."""
        author = self.author_edit.text()
        try:
            obs = self.build(self.observed_at(), author)
            if self.original is not None:
                obs = ob.amendment(self.original, obs, author, self.reason_edit.text())
            self.warnings = self._submit(obs)
        except (ObservationError, ValueError, KnownError) as exc:
            self.error_label.setText(str(exc))
            return False
        self.saved = obs
        self.accept()
        return True


class MoaasDialog(ObservationDialog):
    """Six big buttons; the keys 0–5 choose and save at once."""

    title = MOAAS_NAME

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.score: int | None = None
        self.score_buttons: dict[int, QPushButton] = {}
        for score in sorted(MOAAS_LEVELS, reverse=True):
            b = QPushButton(f"{score}   {MOAAS_LEVELS[score]}")
            b.setMinimumHeight(48)
            b.setStyleSheet("text-align: left; font-size: 16px; padding-left: 12px;")
            b.clicked.connect(lambda _=False, s=score: self.choose(s))
            self.score_buttons[score] = b
            self.body.addWidget(b)
        hint = QLabel("Press 0–5 to record that score")
        hint.setStyleSheet(f"color: {theme.TEXT_DIM};")
        self.body.addWidget(hint)
        if self.original is not None:
            self.score = int(self.original.data["score"])
        self.score_buttons[5].setFocus()  # digits go to the dialog, not to the name field

    def keyPressEvent(self, event: QKeyEvent) -> None:
        text = event.text()
        if text in {str(s) for s in MOAAS_LEVELS} and not self.author_edit.hasFocus() and not self.reason_edit.hasFocus():
            self.choose(int(text))
            return
        super().keyPressEvent(event)

    def choose(self, score: int) -> None:
        self.score = score
        self.save()

    def build(self, t: float, author: str) -> Observation:
        if self.score is None:
            raise ObservationError("choose a score from 0 to 5")
        return ob.moaas(t, author, self.score)


class _DigitFilter(QObject):
    """In a CADSS item, a digit 0–4 sets the answer and moves to the next item."""

    def __init__(self, dialog: CadssDialog) -> None:
        super().__init__(dialog)
        self._dialog = dialog

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(obj, QSpinBox):
            assert isinstance(event, QKeyEvent)
            if event.text() in ("0", "1", "2", "3", "4"):
                obj.setValue(int(event.text()))
                obj.focusNextChild()
                return True
        return False


class CadssDialog(ObservationDialog):
    """23 items, each '–' (not answered) or 0–4; the totals are computed live."""

    title = CADSS_NAME

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.setMinimumSize(620, 640)
        legend = QLabel("Type 0–4 for each item (" + ", ".join(f"{k} {v}" for k, v in CADSS_ANCHORS.items()) + ")")
        legend.setWordWrap(True)
        grid_host = QWidget()
        grid = QGridLayout(grid_host)
        self.items: list[QSpinBox] = []
        self._filter = _DigitFilter(self)
        for i, label in enumerate(CADSS_ITEMS, start=1):
            spin = QSpinBox()
            spin.setRange(-1, 4)
            spin.setSpecialValueText("–")
            spin.setValue(-1)
            spin.installEventFilter(self._filter)
            spin.valueChanged.connect(self._update_total)
            grid.addWidget(QLabel(f"{i}."), i, 0)
            grid.addWidget(QLabel(label), i, 1)
            grid.addWidget(spin, i, 2)
            self.items.append(spin)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(grid_host)
        self.total_label = QLabel()
        self.total_label.setStyleSheet("font-size: 18px; font-weight: bold;")
        self.body.addWidget(legend)
        self.body.addWidget(scroll, 1)
        self.body.addWidget(self.total_label)
        for a, b in zip(self.items, self.items[1:], strict=False):
            QWidget.setTabOrder(a, b)
        self.items[0].setFocus()
        if self.original is not None:
            for spin, v in zip(self.items, self.original.data["items"], strict=True):
                spin.setValue(int(v))
        self._update_total()

    def answers(self) -> list[int]:
        return [s.value() for s in self.items]

    @Slot()
    def _update_total(self) -> None:
        answered = [v for v in self.answers() if v >= 0]
        missing = len(self.items) - len(answered)
        padded = [max(0, v) for v in self.answers()]
        sc = score_cadss(padded)
        more = f" — {missing} item(s) not answered" if missing else ""
        self.total_label.setText(f"Total {sc.total} / 92   CADSS-6 {sc.short6} / 24{more}")

    def build(self, t: float, author: str) -> Observation:
        missing = [str(i) for i, v in enumerate(self.answers(), start=1) if v < 0]
        if missing:
            raise ObservationError(f"answer every item (0–4); not answered: {', '.join(missing)}")
        return ob.cadss(t, author, self.answers())


class RassDialog(ObservationDialog):
    """A list from +4 to −5: arrows choose, Enter saves."""

    title = RASS_NAME

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.list = QListWidget()
        for score in sorted(RASS_LEVELS, reverse=True):
            item = QListWidgetItem(f"{score:+d}   {RASS_LEVELS[score]}")
            item.setData(Qt.ItemDataRole.UserRole, score)
            self.list.addItem(item)
        start = int(self.original.data["score"]) if self.original is not None else 0
        self.list.setCurrentRow(sorted(RASS_LEVELS, reverse=True).index(start))
        self.list.itemActivated.connect(lambda _item: self.save())
        self.body.addWidget(self.list)
        self.list.setFocus()

    def build(self, t: float, author: str) -> Observation:
        item = self.list.currentItem()
        if item is None:
            raise ObservationError("choose a RASS level from -5 to +4")
        return ob.rass(t, author, int(item.data(Qt.ItemDataRole.UserRole)))


def _minutes_ago(maximum: int = 240) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(0, maximum)
    spin.setSuffix(" min ago")
    return spin


class AdverseEventDialog(ObservationDialog):
    title = "Adverse events"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.checks: dict[str, QCheckBox] = {}
        for key, label in AE_ITEMS.items():
            box = QCheckBox(label)
            self.checks[key] = box
            self.body.addWidget(box)
        self.other_edit = QLineEdit()
        self.other_edit.setPlaceholderText("describe 'Other'")
        self.onset = _minutes_ago()
        self.intervention_edit = QLineEdit()
        self.intervention_edit.setPlaceholderText("what was done (optional)")
        self.serious = QCheckBox("Serious adverse event")
        form = QFormLayout()
        form.addRow("Other", self.other_edit)
        form.addRow("Onset", self.onset)
        form.addRow("Intervention", self.intervention_edit)
        form.addRow(self.serious)
        self.body.addLayout(form)
        if self.original is not None:
            d = self.original.data
            for key in d["items"]:
                self.checks[key].setChecked(True)
            self.other_edit.setText(d.get("other", ""))
            self.intervention_edit.setText(d.get("intervention", ""))
            self.serious.setChecked(bool(d.get("serious")))
            self.onset.setValue(max(0, round((self.original.t - float(d["onset_t"])) / 60)))

    def build(self, t: float, author: str) -> Observation:
        return ob.adverse_event(
            t,
            author,
            items=[k for k, b in self.checks.items() if b.isChecked()],
            other=self.other_edit.text(),
            onset_t=t - self.onset.value() * 60.0,
            intervention=self.intervention_edit.text(),
            serious=self.serious.isChecked(),
        )


class VitalsDialog(ObservationDialog):
    """Manual cuff / count: a blank field ('–') is not entered."""

    title = "Manual vital signs"
    FIELDS = (
        ("nibp_sys", "Systolic (mmHg)", 300),
        ("nibp_dia", "Diastolic (mmHg)", 200),
        ("hr", "Heart rate (/min)", 300),
        ("spo2", "SpO₂ (%)", 100),
        ("rr", "Resp. rate (/min)", 80),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        form = QFormLayout()
        self.fields: dict[str, QSpinBox] = {}
        for code, label, hi in self.FIELDS:
            spin = QSpinBox()
            spin.setRange(0, hi)
            spin.setSpecialValueText("–")
            self.fields[code] = spin
            form.addRow(label, spin)
        self.measured = _minutes_ago(60)
        form.addRow("Measured", self.measured)
        self.body.addLayout(form)
        chain = [*self.fields.values(), self.measured]
        for a, b in itertools.pairwise(chain):
            QWidget.setTabOrder(a, b)
        chain[0].setFocus()
        if self.original is not None:
            for code, v in self.original.data["values"].items():
                self.fields[code].setValue(round(float(v)))

    def observed_at(self) -> float:
        return self.original.t if self.original is not None else self._clock.now() - self.measured.value() * 60.0

    def build(self, t: float, author: str) -> Observation:
        return ob.manual_vitals(t, author, {c: float(s.value()) if s.value() > 0 else None for c, s in self.fields.items()})


class DoseDialog(ObservationDialog):
    """Drug, route (must be chosen), dose in mg, lot; Spravato: the device number, 28 mg each."""

    title = "Dose administration"

    def __init__(self, *args: object, template: ProtocolTemplate | None = None, next_device: int = 1, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.drug_edit = QLineEdit(template.drug if template else "")
        self.route_combo = QComboBox()
        self.route_combo.addItem("— choose —", None)
        for r in ob.Route:
            self.route_combo.addItem(r.value, r.value)
        if template is not None:
            self.route_combo.setCurrentIndex(self.route_combo.findData(template.route))
        self.dose_spin = QDoubleSpinBox()
        self.dose_spin.setRange(0, 1000)
        self.dose_spin.setDecimals(1)
        self.dose_spin.setSuffix(" mg")
        self.dose_spin.setValue(template.device_mg if template and template.device_mg else 0.0)
        self.lot_edit = QLineEdit()
        self.lot_edit.setPlaceholderText("lot number")
        self.device_spin = QSpinBox()
        self.device_spin.setRange(0, 3)
        self.device_spin.setSpecialValueText("–")
        self.device_spin.setValue(next_device if template and template.device_mg else 0)
        form = QFormLayout()
        form.addRow("Drug", self.drug_edit)
        form.addRow("Route", self.route_combo)
        form.addRow("Dose", self.dose_spin)
        form.addRow("Lot", self.lot_edit)
        form.addRow("Device (Spravato, 28 mg each)", self.device_spin)
        self.body.addLayout(form)
        if self.original is not None:
            d = self.original.data
            self.drug_edit.setText(d["drug"])
            self.route_combo.setCurrentIndex(self.route_combo.findData(d["route"]))
            self.dose_spin.setValue(float(d["dose_mg"]))
            self.lot_edit.setText(d.get("lot", ""))
            self.device_spin.setValue(int(d.get("device", 0)))

    def build(self, t: float, author: str) -> Observation:
        device = self.device_spin.value() or None
        return ob.dose(
            t,
            author,
            drug=self.drug_edit.text(),
            route=self.route_combo.currentData(),
            dose_mg=self.dose_spin.value(),
            lot=self.lot_edit.text(),
            device=device,
        )


MARKER_KINDS: dict[str, ObsKind] = {
    "Note": ObsKind.NOTE,
    "Intervention": ObsKind.INTERVENTION,
    "Phase": ObsKind.PHASE,
    "Therapy": ObsKind.THERAPY,
}


class MarkerDialog(ObservationDialog):
    """Note, intervention, phase or therapy marker; the text combo offers the common ones."""

    title = "Note / marker"

    def __init__(self, *args: object, kind: ObsKind = ObsKind.NOTE, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.kind_combo = QComboBox()
        for label, k in MARKER_KINDS.items():
            self.kind_combo.addItem(label, k)
        self.text_combo = QComboBox()
        self.text_combo.setEditable(True)
        form = QFormLayout()
        form.addRow("Kind", self.kind_combo)
        form.addRow("Text", self.text_combo)
        self.body.addLayout(form)
        self.kind_combo.currentIndexChanged.connect(self._fill)
        if self.original is not None:
            kind = self.original.kind
        self.kind_combo.setCurrentIndex(self.kind_combo.findData(kind))
        self._fill()
        if self.original is not None:
            self.kind_combo.setEnabled(False)
            d = self.original.data
            self.text_combo.setCurrentText(str(d.get("text", d.get("phase", ""))))

    @Slot()
    def _fill(self) -> None:
        kind = self.kind_combo.currentData()
        options = {ObsKind.PHASE: ob.PHASES, ObsKind.THERAPY: ob.THERAPY_MARKERS, ObsKind.INTERVENTION: ob.INTERVENTIONS}.get(
            kind, ()
        )
        self.text_combo.clear()
        self.text_combo.addItems(list(options))
        self.text_combo.setEditable(kind is not ObsKind.PHASE)
        if kind is ObsKind.NOTE:
            self.text_combo.setCurrentText("")

    def build(self, t: float, author: str) -> Observation:
        kind = self.kind_combo.currentData()
        text = self.text_combo.currentText()
        if kind is ObsKind.PHASE:
            return ob.phase(t, author, text)
        return {ObsKind.NOTE: ob.note, ObsKind.INTERVENTION: ob.intervention, ObsKind.THERAPY: ob.therapy}[kind](t, author, text)


class ChecklistDialog(ObservationDialog):
    """Pre-dose checklist (yes/no per question, requirement 8)."""

    title = "Pre-dose checklist"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.checks: dict[str, QCheckBox] = {}
        for key, q in ob.PREDOSE_ITEMS.items():
            box = QCheckBox(q)
            self.checks[key] = box
            self.body.addWidget(box)
        if self.original is not None:
            for k, v in self.original.data["answers"].items():
                self.checks[k].setChecked(bool(v))

    def build(self, t: float, author: str) -> Observation:
        return ob.predose_checklist(t, author, {k: b.isChecked() for k, b in self.checks.items()})


class BpAckDialog(ObservationDialog):
    """A prescriber acknowledges a pre-dose BP above the caution threshold (requirement 14)."""

    title = "Pre-dose BP caution"

    def __init__(self, *args: object, sys: float = 0.0, dia: float = 0.0, threshold: str = "140/90", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._bp = (sys, dia)
        text = QLabel(
            f"Pre-dose BP {sys:g}/{dia:g} mmHg is above {threshold} (label: a general guide, not a cut-off).\n"
            "A prescriber decides whether to dose and acknowledges here with their own name."
        )
        text.setWordWrap(True)
        self.body.addWidget(text)
        self.author_edit.clear()
        self.author_edit.setPlaceholderText("prescriber's name (required)")
        self.save_button.setText("Acknowledge")

    def build(self, t: float, author: str) -> Observation:
        return ob.bp_caution_ack(t, author, *self._bp)


class DischargeDialog(ObservationDialog):
    """The discharge checklist; Save stays disabled until the protocol allows discharge and every
    item is ticked. Saving ends the session."""

    title = "Discharge"

    def __init__(
        self, *args: object, reasons: tuple[str, ...] = (), minutes_from_t0: float | None = None, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._blocked = reasons
        self.checks: dict[str, QCheckBox] = {}
        for key, q in ob.DISCHARGE_ITEMS.items():
            box = QCheckBox(q)
            box.toggled.connect(self._update)
            self.checks[key] = box
            self.body.addWidget(box)
        self.ready_spin = QSpinBox()
        self.ready_spin.setRange(0, 1440)
        self.ready_spin.setSuffix(" min from first dose")
        self.ready_spin.setValue(round(minutes_from_t0 or 0))
        form = QFormLayout()
        form.addRow("Would have been ready to leave at", self.ready_spin)
        self.body.addLayout(form)
        self.blocked_label = QLabel("\n".join(f"Not yet: {r}" for r in reasons))
        self.blocked_label.setWordWrap(True)
        self.blocked_label.setStyleSheet(f"color: {theme.ORANGE};")
        self.body.addWidget(self.blocked_label)
        self._update()

    @Slot()
    def _update(self) -> None:
        self.save_button.setEnabled(not self._blocked and all(b.isChecked() for b in self.checks.values()))

    def build(self, t: float, author: str) -> Observation:
        return ob.discharge(
            t, author, {k: b.isChecked() for k, b in self.checks.items()}, ready_min=float(self.ready_spin.value())
        )


#: Which dialog amends which kind (discharge and acknowledgements are not amended: add a note).
DIALOG_FOR: dict[ObsKind, type[ObservationDialog]] = {
    ObsKind.MOAAS: MoaasDialog,
    ObsKind.CADSS: CadssDialog,
    ObsKind.RASS: RassDialog,
    ObsKind.ADVERSE_EVENT: AdverseEventDialog,
    ObsKind.MANUAL_VITALS: VitalsDialog,
    ObsKind.DOSE: DoseDialog,
    ObsKind.NOTE: MarkerDialog,
    ObsKind.INTERVENTION: MarkerDialog,
    ObsKind.PHASE: MarkerDialog,
    ObsKind.THERAPY: MarkerDialog,
    ObsKind.PREDOSE_CHECKLIST: ChecklistDialog,
}

"""The workstation's alarm configuration as JSON: HR confirmation and the hashed PIN."""

from __future__ import annotations

import json

import pytest

from app.workstation_store import JsonWorkstationConfig, default_path
from monitor.alarms import hash_pin, verify_pin
from monitor.errors import ConfigError


def test_round_trip_keeps_both_sections(tmp_path):
    path = tmp_path / "sub" / "workstation.json"
    store = JsonWorkstationConfig(path)
    assert store.hr_confirmation() is None and store.pin_record() is None
    store.save_pin_record(hash_pin("2468", iterations=1000))
    store.save_hr_confirmation({"by": "Dr Vos", "at": 1.9e9, "hr_low": 50.0, "hr_high": 120.0})
    again = JsonWorkstationConfig(path)
    assert again.hr_confirmation() == {"by": "Dr Vos", "at": 1.9e9, "hr_low": 50.0, "hr_high": 120.0}
    assert verify_pin("2468", again.pin_record() or {})
    doc = json.loads(path.read_text())
    assert doc["version"] == 1 and "2468" not in path.read_text()
    assert [p.name for p in path.parent.iterdir()] == ["workstation.json"]  # no temp files left


def test_damaged_file_reads_as_nothing_confirmed(tmp_path, caplog):
    path = tmp_path / "workstation.json"
    path.write_text("{not json")
    store = JsonWorkstationConfig(path)
    assert store.hr_confirmation() is None and store.pin_record() is None
    assert "damaged" in caplog.text
    store.save_hr_confirmation({"by": "Dr Vos"})
    assert JsonWorkstationConfig(path).hr_confirmation() == {"by": "Dr Vos"}


def test_unwritable_folder_is_a_config_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot save the workstation configuration"):
        JsonWorkstationConfig(blocker / "workstation.json").save_hr_confirmation({"by": "x"})


def test_default_path_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SESSION_MONITOR_WORKSTATION", str(tmp_path / "w.json"))
    assert default_path() == tmp_path / "w.json"
    monkeypatch.delenv("SESSION_MONITOR_WORKSTATION")
    assert default_path().name == "workstation.json" and "session-monitor" in str(default_path())

"""Scale scoring: computed from the answers, out-of-range answers refused with what is allowed."""

import pytest

from monitor import instruments as ins


def test_moaas_has_six_levels_and_names_the_0_to_5_version():
    assert sorted(ins.MOAAS_LEVELS) == [0, 1, 2, 3, 4, 5]
    assert ins.MOAAS_NAME == "MOAA/S (0–5)"
    assert ins.check_moaas(3) == 3


@pytest.mark.parametrize("bad", [-1, 6, 2.5, True, "3"])
def test_moaas_refuses_out_of_range(bad):
    with pytest.raises(ins.ScoreError, match="0 to 5"):
        ins.check_moaas(bad)


def test_cadss_total_and_short_form():
    items = [0] * 23
    for i in ins.CADSS6_ITEMS:  # 1-based
        items[i - 1] = 4
    items[2] = 3  # item 3 is not in the short form
    s = ins.score_cadss(items)
    assert s.total == 27 and s.short6 == 24
    full = ins.score_cadss([4] * 23)
    assert full.total == 92 and full.short6 == 24
    assert ins.score_cadss([0] * 23).total == 0


def test_cadss_dissociation_needs_total_above_4_and_above_baseline():
    five = ins.score_cadss([1] * 5 + [0] * 18)
    assert five.total == 5
    assert five.dissociation_present(None)
    assert five.dissociation_present(4)
    assert not five.dissociation_present(5)
    assert not ins.score_cadss([1] * 4 + [0] * 19).dissociation_present(0)


@pytest.mark.parametrize("items", [[0] * 22, [0] * 24, [0] * 22 + [5], [0] * 22 + [-1]])
def test_cadss_refuses_missing_or_out_of_range_items(items):
    with pytest.raises(ins.ScoreError):
        ins.score_cadss(items)


def test_rass_range():
    assert sorted(ins.RASS_LEVELS) == list(range(-5, 5))
    with pytest.raises(ins.ScoreError, match="-5 to \\+4"):
        ins.check_rass(5)
    with pytest.raises(ins.ScoreError):
        ins.check_rass(-6)


def test_labels_are_short():
    assert len(ins.CADSS_ITEMS) == 23
    assert all(len(label) <= 60 for label in ins.CADSS_ITEMS)

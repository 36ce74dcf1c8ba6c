"""HL7 ORU^R01 over MLLP, messages written by hand after protocols.md §4 (GE PCD-01 style)."""

import math

from devices.protocols.hl7 import Hl7MllpDecoder, hl7_time
from monitor.readings import Flag, Quality

TS = "20260301101500+0100"
T = hl7_time(TS)


def mllp(*segments: str) -> bytes:
    return b"\x0b" + "\r".join(segments).encode() + b"\r\x1c\r"


MSH = f"MSH|^~\\&|B40|GE|||{TS}||ORU^R01^ORU_R01|MSG00042|P|2.6|||NE|AL||UNICODE UTF-8|||PCD_DEC_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"
MESSAGE = mllp(
    MSH,
    "PID|||12345^^^HOSP^PI||Doe^John",
    "PV1||I|ICU^1^1",
    f"OBR|1|||182777000^monitoring of patient^SNOMED-CT|||{TS}",
    "OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X",
    "OBX|2|NM|147842^MDC_ECG_HEART_RATE^MDC|1.2.1.1|72|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R",
    "OBX|3|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1.1|97|262688^MDC_DIM_PERCENT^MDC|||||R",
    "OBX|4|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.4.1.1|128|266016^MDC_DIM_MMHG^MDC|||||R",
    "OBX|5|NM|150022^MDC_PRESS_BLD_NONINV_DIA^MDC|1.4.1.2|78|266016^MDC_DIM_MMHG^MDC|||||R",
    "OBX|6|NM|150023^MDC_PRESS_BLD_NONINV_MEAN^MDC|1.4.1.3|95|266016^MDC_DIM_MMHG^MDC|||||R",
    "OBX|7|NM|151562^MDC_RESP_RATE^MDC|1.5.1.1|14|264928^MDC_DIM_RESP_PER_MIN^MDC|||||R",
    "OBX|8|NM|150344^MDC_TEMP^MDC|1.6.1.1|36.9|268192^MDC_DIM_DEGC^MDC|||||R",
)


def test_oru_message_gives_every_vital_with_the_obr_time():
    d = Hl7MllpDecoder()
    ms = d.feed(MESSAGE)
    assert [(m.channel, m.value, m.quality, m.device_t) for m in ms] == [
        ("hr", 72.0, Quality.OK, T), ("spo2", 97.0, Quality.OK, T), ("nibp_sys", 128.0, Quality.OK, T),
        ("nibp_dia", 78.0, Quality.OK, T), ("nibp_map", 95.0, Quality.OK, T), ("rr", 14.0, Quality.OK, T),
        ("temp", 36.9, Quality.OK, T),
    ]  # fmt: skip
    assert T == 1772356500.0  # 2026-03-01 09:15:00 UTC
    ack = d.take_replies()
    assert ack.startswith(b"\x0bMSH|") and b"MSA|AA|MSG00042" in ack and ack.endswith(b"\x1c\r")


def test_cuff_code_family_and_containment_form_accepted():
    d = Hl7MllpDecoder()
    ms = d.feed(mllp(
        MSH,
        "OBX|1|NM|150301^MDC_PRESS_CUFF_SYS^MDC|1.1.9.1|131|266016^MDC_DIM_MMHG^MDC|||||F",
        "OBX|2|NM|150302^MDC_PRESS_CUFF_DIA^MDC|1.1.9.2|81|266016^MDC_DIM_MMHG^MDC|||||F",
        "OBX|3|NM|1.1.9.150303^MDC_PRESS_CUFF_MEAN^MDC|1.1.9.3|98|266016^MDC_DIM_MMHG^MDC|||||F",
    ))  # fmt: skip
    assert [(m.channel, m.value) for m in ms] == [("nibp_sys", 131.0), ("nibp_dia", 81.0), ("nibp_map", 98.0)]


def test_empty_value_with_status_x_is_invalid_never_zero():
    d = Hl7MllpDecoder()
    ms = d.feed(mllp(MSH, "OBX|1|NM|0002-4bb8^SpO2^MDIL||||0004-0220^%^MDIL|||||X"))
    assert len(ms) == 1 and ms[0].channel == "spo2" and ms[0].quality is Quality.INVALID and math.isnan(ms[0].value)
    assert Flag.NO_VALUE in ms[0].flags


def test_wrong_unit_is_refused_not_misread():
    d = Hl7MllpDecoder()
    ms = d.feed(mllp(MSH, "OBX|1|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC||17|3872^MDC_DIM_KILO_PASCAL^MDC|||||R"))
    assert ms[0].quality is Quality.INVALID


def test_garbage_and_cut_messages_are_skipped_and_counted():
    d = Hl7MllpDecoder()
    ms = d.feed(b"noise" + MESSAGE[:40] + MESSAGE + b"\x0bnot hl7\x1c\r")
    assert len(ms) == 7
    assert d.stats.rejected == 2 and d.stats.frames == 1


def test_impossible_timestamps_give_no_device_time():
    assert hl7_time("20260301101500+4000") is None  # found by the fuzz test
    assert hl7_time("20261301") is None and hl7_time("99999999999999") is None
    assert hl7_time("20260301") == hl7_time("20260301000000")

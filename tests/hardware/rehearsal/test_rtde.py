"""The RTDE wire format of the virtual UR controller."""

from __future__ import annotations

import pytest

from robostack.hardware.rehearsal.virtual import rtde


def test_setup_names_drop_ur_rtde_s_trailing_comma_and_unknown_names_are_not_found():
    names = rtde.parse_names(b"timestamp,actual_q,robot_mode,")
    payload, recipe = rtde.setup_reply(1, names)
    assert names == ("timestamp", "actual_q", "robot_mode")
    assert payload == b"\x01DOUBLE,VECTOR6D,INT32" and recipe.types == (
        "DOUBLE",
        "VECTOR6D",
        "INT32",
    )
    payload, recipe = rtde.setup_reply(2, ("actual_q", "banana", "output_int_register_48"))
    assert recipe is None and payload == b"\x00VECTOR6D,NOT_FOUND,NOT_FOUND"
    payload, recipe = rtde.setup_reply(
        3, ("input_int_register_0",), in_use={"input_int_register_0"}
    )
    assert recipe is None and payload.endswith(b"IN_USE")


def test_a_data_package_round_trips_big_endian_and_a_short_one_is_padded():
    recipe = rtde.setup_reply(4, ("input_int_register_0", "input_double_register_0", "actual_q"))[1]
    values = {"input_int_register_0": -7, "input_double_register_0": 0.5, "actual_q": [1.0] * 6}
    payload = recipe.encode(values)
    assert payload[:5] == b"\x04\xff\xff\xff\xf9"  # recipe id, then int32 -7 big-endian
    assert recipe.decode(payload[1:]) == values
    assert recipe.decode(payload[1:5])["input_double_register_0"] == 0.0
    assert recipe.encode({})[1:] == bytes(4 + 8 + 48)  # fields not given are zero


def test_packets_carry_their_whole_size_in_the_header():
    assert rtde.packet(rtde.START) == b"\x00\x03S"
    message = rtde.text_message("hi", "x", 2)
    assert message[:3] == b"\x00\x09M" and message[3:] == b"\x02hi\x01x\x02"
    with pytest.raises(KeyError):
        _ = rtde.Recipe(1, ("a",), ("NOPE",)).layout

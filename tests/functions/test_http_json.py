"""Request parsing helpers of the workflow API: ids are checked whole."""

from __future__ import annotations

import pytest

from engine.functions.http_json import HttpError, check_instance_id


@pytest.mark.parametrize("value", ["abc\n", "abc\r\n", "\nabc", "abc\x00", "", "-abc", "a" * 101, "a/b"])
def test_an_invalid_instance_id_is_refused_whole(value: str) -> None:
    with pytest.raises(HttpError) as refused:
        check_instance_id(value)
    assert refused.value.status == 400 and refused.value.details["field"] == "instanceId"


@pytest.mark.parametrize("value", ["abc", "run-1.2_x", "parent:child", "a" * 100])
def test_a_valid_instance_id_passes(value: str) -> None:
    assert check_instance_id(value) == value

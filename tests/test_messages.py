"""Messages (gridplan._messages): English text with a stable id and parameters."""

import copy
import json
import pickle

import pytest

from gridplan import InputError
from gridplan._messages import N_
from gridplan._messages import Message
from gridplan._messages import define
from gridplan._messages import lookup

FIELDS = define("test.fields", N_("%(what)s %(id)s has %(n)d fields"))
LEVEL = define("test.level", N_("micro-grid"))


def test_a_message_is_its_english_text_with_id_and_params():
    message = FIELDS(what=LEVEL(), id="M1", n=3)
    assert message == "micro-grid M1 has 3 fields" and isinstance(message, str)
    assert "M1" in message and message.startswith("micro-grid")
    assert message.id == "test.fields" and message.params["n"] == 3
    assert json.dumps(message) == '"micro-grid M1 has 3 fields"'
    with pytest.raises(AttributeError, match="immutable"):
        message.id = "other"
    with pytest.raises(TypeError):
        message.params["n"] = 4


def test_a_message_survives_json_pickle_and_copy():
    message = FIELDS(what=LEVEL(), id="M1", n=3)
    stored = json.loads(json.dumps(message.to_dict()))
    assert stored == {
        "id": "test.fields",
        "params": {"what": {"id": "test.level", "params": {}}, "id": "M1", "n": 3},
    }
    for back in (Message.from_dict(stored), pickle.loads(pickle.dumps(message))):
        assert back == message and back.to_dict() == message.to_dict()
    assert copy.deepcopy(message).to_dict() == message.to_dict()


def test_render_translates_the_template_and_nested_messages_but_not_plain_params():
    chinese = {
        "%(what)s %(id)s has %(n)d fields": "%(what)s %(id)s 有 %(n)d 个字段",
        "micro-grid": "微网格",
    }
    message = FIELDS(what=LEVEL(), id="micro-grid", n=3)
    assert message.render(lambda t: chinese.get(t, t)) == "微网格 micro-grid 有 3 个字段"


def test_wrong_parameters_and_clashing_ids_are_programming_errors():
    with pytest.raises(TypeError, match=r"takes the parameters \['id', 'n', 'what'\]"):
        FIELDS(id="M1", n=3)
    with pytest.raises(ValueError, match="defined twice"):
        define("test.fields", "something else")
    assert define("test.fields", FIELDS.text) == FIELDS  # the same definition again is fine
    with pytest.raises(LookupError, match=r"unknown message id 'no\.such\.id'"):
        lookup("no.such.id")


def test_numpy_parameters_are_stored_as_python_values():
    import numpy as np

    message = FIELDS(what="grid", id="M1", n=np.int64(7))
    assert type(message.params["n"]) is int and json.dumps(message.to_dict())


def test_errors_carry_their_message(tmp_path):
    from gridplan import import_incidents

    path = tmp_path / "empty.csv"
    path.write_text("案件编号,经度,纬度,案发时间\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        import_incidents(path)
    assert info.value.message.id == "incidents.no_data_rows"
    assert str(info.value) == (
        f"{path}: the table has a header but no data rows; export the incidents again"
    )
    assert InputError("plain text").message is None


def test_rejects_and_warnings_are_messages_with_ids(tmp_path):
    from gridplan import import_incidents

    path = tmp_path / "jq.csv"
    path.write_text(
        "编号,经度,纬度,发生时间\nJ1,116.4,39.9,2024-03-05 08:00\nJ1,116.4,39.9,2024-03-05\n"
        "J2,abc,39.9,2024-03-05 09:00\n",
        encoding="utf-8",
    )
    result = import_incidents(path)
    reason = result.rejects["reason"].iloc[0]
    assert reason == "longitude is not a number"
    assert reason.params["coordinate"].id == "coordinate.longitude"
    assert result.rejects["reason_id"].tolist() == ["incidents.coordinate_not_number"]
    assert {w.id for w in result.warnings} == {
        "incidents.duplicate_ids",
        "incidents.no_time_of_day",
    }
    assert result.coordinate_system.id == "incidents.crs_wgs84"


def test_swap_replaces_nested_advice_and_keeps_the_rest():
    cli = define("test.fix.cli", N_("pass --crs %(crs)s"))
    form = define("test.fix.form", N_("enter %(crs)s in the form"))
    failed = define("test.failed", N_("%(where)s has no CRS; %(fix)s"))
    message = failed(where=LEVEL(), fix=cli(crs="EPSG:4547"))
    swapped = message.swap({cli.id: form})
    assert message == "micro-grid has no CRS; pass --crs EPSG:4547"  # unchanged
    assert swapped == "micro-grid has no CRS; enter EPSG:4547 in the form"
    assert swapped.params["where"].id == "test.level" and swapped.params["fix"].id == form.id
    assert message.swap({}) == message


def test_listing_joins_messages_in_either_language():
    from gridplan._messages import listing

    assert listing([]) == "" and listing(["a"]) == "a"
    items = listing([LEVEL(), "M2", LEVEL()], semicolons=True, more=4)
    assert items == "micro-grid; M2; micro-grid and 4 more"
    chinese = {
        "%(first)s; %(rest)s": "%(first)s；%(rest)s",
        "%(items)s and %(n)d more": "%(items)s 等（另有 %(n)d 个）",
        "micro-grid": "微网格",
    }
    assert items.render(lambda t: chinese.get(t, t)) == "微网格；M2；微网格 等（另有 4 个）"
    assert Message.from_dict(json.loads(json.dumps(items.to_dict()))) == items

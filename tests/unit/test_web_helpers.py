"""The pure request-body helpers of shared.web: nesting depth before parsing, operator keys, NFC."""

import json
import unicodedata

from shared.jsontext import not_text
from shared.web import forbidden_key, json_depth_exceeds, nfc_deep


def test_thousand_deep_array_is_caught_before_parsing():
    raw = b"[" * 1000 + b"]" * 1000
    assert json_depth_exceeds(raw, 64) is True


def test_thousand_deep_object_is_caught():
    raw = ('{"a":' * 1000 + "1" + "}" * 1000).encode()
    assert json_depth_exceeds(raw, 64) is True


def test_depth_equal_to_the_limit_is_allowed_and_one_more_is_not():
    assert json_depth_exceeds(b"[[[1]]]", 3) is False
    assert json_depth_exceeds(b"[[[[1]]]]", 3) is True


def test_sibling_containers_do_not_add_up():
    raw = json.dumps({"a": [1], "b": {"c": [2]}, "d": [[3]]}).encode()
    assert json_depth_exceeds(raw, 3) is False


def test_brackets_inside_strings_are_not_counted():
    raw = json.dumps({"narrative": "[[[[[[{{{{{{"}).encode()
    assert json_depth_exceeds(raw, 2) is False


def test_escaped_quote_does_not_end_the_string():
    raw = json.dumps({"narrative": 'he said "[[[[[[" loudly'}).encode()
    assert b'\\"' in raw
    assert json_depth_exceeds(raw, 2) is False


def test_escaped_backslash_before_a_quote_ends_the_string():
    raw = json.dumps(["C:\\", [[[1]]]]).encode()
    assert raw.startswith(b'["C:\\\\", ')
    assert json_depth_exceeds(raw, 3) is True
    assert json_depth_exceeds(raw, 4) is False


def test_vietnamese_utf8_text_does_not_confuse_the_depth_count():
    raw = json.dumps({"tên": "Ủy ban nhân dân huyện Cầu Kè [{"}, ensure_ascii=False).encode()
    assert json_depth_exceeds(raw, 1) is False


def test_dollar_key_is_found_at_the_top():
    assert forbidden_key({"agency": "H_CAUKE", "$where": "sleep(1)"}) == "$where"


def test_dotted_key_is_found_deep_inside_objects():
    assert forbidden_key({"indicators": {"a.b": 1}}) == "indicators.a.b"


def test_forbidden_key_inside_a_list_is_found_with_its_index():
    body = {"staff": [{"ho_ten": "A"}, {"ho_ten": {"$ne": None}}]}
    assert forbidden_key(body) == "staff[1].ho_ten.$ne"


def test_forbidden_key_inside_nested_lists_is_found():
    assert forbidden_key({"x": [[{"ok": 1}], [{"$gt": 0}]]}) == "x[1][0].$gt"


def test_clean_body_has_no_forbidden_key():
    body = {"agency": "H_CAUKE", "narratives": {"area_1": "giá $5. Hết."}, "staff": [{"email": "a.b@c.vn"}]}
    assert forbidden_key(body) is None


def test_dollar_inside_a_key_but_not_at_its_start_is_allowed():
    assert forbidden_key({"price$": 1}) is None


def test_nfc_deep_normalises_decomposed_values():
    assert nfc_deep("Hoa\u0300") == "Hoà"
    assert nfc_deep("Hoa\u0300") == "Ho\u00e0"


def test_nfc_deep_normalises_keys_and_values_at_any_depth():
    decomposed = unicodedata.normalize("NFD", "Cầu Kè")
    body = {decomposed: [decomposed, {"k": decomposed, decomposed: 1}], "n": 3, "none": None, "flag": True}
    out = nfc_deep(body)
    assert out == {"Cầu Kè": ["Cầu Kè", {"k": "Cầu Kè", "Cầu Kè": 1}], "n": 3, "none": None, "flag": True}
    assert all(unicodedata.is_normalized("NFC", k) for k in out)
    assert unicodedata.is_normalized("NFC", out["Cầu Kè"][1]["k"])


def test_not_text_names_the_first_string_holding_a_control_character():
    assert not_text({"a": "ok\tline\nnext\r", "b": ["Tiếng Việt"]}) is None
    assert not_text({"a": "ok", "b": [{"c": "x\x00"}]}) == "b[0].c"
    assert not_text({"a": {"b": "\x0b"}}) == "a.b"
    assert not_text("\uffff") == ""
    assert not_text({"k\x01": 1}) == "'k\\x01'"
    assert not_text({"a": 1, "b": None, "c": True}) is None

import datetime as dt
from decimal import Decimal

import pytest

from orchestration.expressions import (
    MAX_LENGTH,
    ExpressionError,
    build_context,
    compile_expression,
    evaluate,
    referenced_paths,
    render_template,
)

CONTEXT = {
    "data": {"amount": 12000, "vendor": "ACME", "lines": [1, 2, 3]},
    "steps": {"review": {"outcome": "approve"}},
}


def test_it_evaluates_conditions_over_data_and_step_outputs():
    assert evaluate('data.amount > 10000 && steps.review.outcome == "approve"', CONTEXT) is True
    assert evaluate("data.lines.map(x, x * 2)", CONTEXT) == [2, 4, 6]


@pytest.mark.parametrize(
    ("text", "where"),
    [("data.amount / 0.0", ""), ('double("nan")', ""), ("[1.0, 1e308 * 10.0]", " (at [1])")],
)
def test_a_result_json_cannot_hold_is_an_error_not_a_value(text, where):
    with pytest.raises(ExpressionError) as refused:
        evaluate(text, {"data": {"amount": 2.5}})
    assert str(refused.value) == (
        f"The expression gave an infinite or undefined number{where}: a division by zero, "
        "or a number too large."
    )


def test_it_reports_a_parse_error_with_its_position():
    with pytest.raises(ExpressionError) as caught:
        compile_expression("data.amount >")
    assert caught.value.position == 13
    assert "character 14" in caught.value.message


@pytest.mark.parametrize(
    "text, what",
    [
        ("data.x )", "character 8: ')' is not expected there (is it left over?)."),
        ("(data.x", "character 8: it ends too early (something is missing at the end)."),
    ],
)
def test_it_tells_text_left_over_from_text_missing_at_the_end(text, what):
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text)
    assert caught.value.message == f"The expression could not be read at {what}"


def test_it_reports_the_position_on_a_later_line():
    with pytest.raises(ExpressionError) as caught:
        compile_expression("data.a &&\n  ) ")
    assert caught.value.position == 12


def test_it_refuses_an_expression_over_the_length_cap():
    with pytest.raises(ExpressionError, match="limit is 2000"):
        compile_expression("1 + " * (MAX_LENGTH // 4) + "1")


def test_it_refuses_nesting_deeper_than_the_cap_before_parsing():
    with pytest.raises(ExpressionError, match="more than 32 deep") as caught:
        compile_expression("(" * 33 + "1" + ")" * 33)
    assert caught.value.position == 32


def test_brackets_inside_text_do_not_count_towards_depth():
    assert evaluate('"(((((((((((((((((((((((((((((((((((" == data.vendor', CONTEXT) is False


def test_it_refuses_a_list_operation_inside_another():
    with pytest.raises(ExpressionError, match="nested list operations"):
        compile_expression("data.a.map(x, data.b.filter(y, y > x))")


def test_it_refuses_more_than_four_list_operations():
    four = " && ".join(["data.lines.exists(x, x > 0)"] * 4)
    assert evaluate(four, CONTEXT) is True
    with pytest.raises(ExpressionError, match="more than 4 list operations"):
        compile_expression(four + " && data.lines.all(x, x > 0)")


def test_it_refuses_list_operations_over_very_long_lists():
    with pytest.raises(ExpressionError, match="at most 1000"):
        evaluate("data.big.exists(x, x == 3)", {"data": {"big": list(range(1001))}})
    assert evaluate("size(data.big)", {"data": {"big": list(range(1001))}}) == 1001


def test_it_refuses_data_that_is_not_plain():
    with pytest.raises(ExpressionError, match=r"'data\.thing' holds a value of type object"):
        evaluate("data.thing", {"data": {"thing": object()}})


def test_it_converts_decimals_and_timestamps_to_plain_values():
    now = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    context = build_context({"price": Decimal("2.5")}, {}, now)
    assert evaluate("data.price * 2.0", context) == 5.0
    assert evaluate('now + duration("1h")', context) == "2026-01-02T04:04:05+00:00"


def test_a_maps_keys_become_text_as_json_writes_them_and_none_is_lost():
    assert evaluate("{true: 1, 2: 'b'}", {}) == {"true": 1, "2": "b"}
    with pytest.raises(ExpressionError, match="two keys that read '1' as text"):
        evaluate("{1: 'a', '1': 'b'}", {})


def test_it_names_a_missing_field_in_plain_words():
    with pytest.raises(ExpressionError, match="'missing', which has no value"):
        evaluate("data.missing == 1", CONTEXT)


def test_it_caches_compiled_programs_by_text():
    assert compile_expression("data.amount + 1") is compile_expression("data.amount + 1")


def test_it_renders_placeholders_in_templates():
    text = render_template("Invoice {{ data.vendor }}: {{ data.amount * 2 }} {{ null }}", CONTEXT)
    assert text == "Invoice ACME: 24000 "


def test_a_broken_placeholder_reports_its_position_in_the_template():
    with pytest.raises(ExpressionError) as caught:
        render_template("Hi {{ data.vendor + }}", CONTEXT)
    assert caught.value.position is not None
    assert caught.value.position > 5


def test_it_lists_the_data_and_step_paths_an_expression_reads():
    text = (
        'data.amount > 1 && steps.review.outcome == "approve" && data["vendor"].startsWith("A")'
        ' && "data.not_a_path" != "" && has(data.po.number) && item.data.x == 1'
    )
    assert referenced_paths(text) == {
        "data.amount",
        "steps.review.outcome",
        "data.vendor",
        "data.po.number",
    }


def test_it_only_looks_at_the_data_an_expression_names():
    context = {"data": {"small": [1, 2, 3], "huge": list(range(5000))}, "steps": object()}
    assert evaluate("data.small.exists(x, x == 3)", context) is True

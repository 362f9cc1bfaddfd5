"""Packing view state into URLs: round trips, compact plain forms, and nothing raised on bad links."""
from __future__ import annotations

import pytest

from lens_core.links import PLAIN_LIMIT, pack, unpack


@pytest.mark.parametrize("value", [["a", "b"], {"lr": [0.1, 0.3]}, 3, "x", [], {"metric": "val/ß loss", "n": 1e-9},
                                   {"brush": {f"metrics.m{i}": [i, i + 0.5] for i in range(30)}}])
def test_round_trip(value):
    text = pack(value)
    assert unpack(text) == value
    assert all(c.isalnum() or c in "~-_.,:[]\" {}" for c in text)


def test_short_plain_values_stay_readable_and_long_ones_shrink():
    assert pack(["acc", "loss"]) == '["acc","loss"]'
    big = {"brush": {f"metrics.metric_{i}": [0.1 * i, 0.1 * i + 0.05] for i in range(40)}}
    assert pack(big).startswith("~") and len(pack(big)) < len(str(big)) / 2
    assert len(pack("x" * (PLAIN_LIMIT + 10))) < PLAIN_LIMIT


@pytest.mark.parametrize("text", [None, "", "~", "~!!!", "{not json", "~" + "A" * 40, pack("x" * 99)[:-5]])
def test_bad_links_read_as_nothing(text):
    assert unpack(text) is None


def test_non_finite_numbers_are_refused_when_packing():
    with pytest.raises(ValueError):
        pack([float("nan")])


def _view() -> None:
    import streamlit as st

    from lens_core.ui import links

    options = ["acc", "loss", "f1"]
    links.restore("metrics", options=options, multi=True, label="metrics")
    links.restore("smooth", parse=float, label="smoothing")
    links.restore("brush", packed=True)
    chosen = st.multiselect("Metrics", options, default=["acc"], key="metrics")
    smooth = st.slider("Smoothing", 0.0, 1.0, 0.0, key="smooth")
    links.fallback_notes()
    links.publish({"metrics": chosen, "smooth": smooth, "brush": st.session_state.get("brush")},
                  {"metrics": ["acc"], "smooth": 0.0}, packed=("brush",))
    links.copy_link_button()


def _open(query: dict[str, str]):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_view)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def test_a_link_restores_the_view_and_stale_parts_fall_back_with_a_note():
    at = _open({"metrics": "loss,gone", "smooth": "0.5", "brush": pack({"metrics.acc": [0.1, 0.2]})})
    assert not at.exception
    assert at.multiselect[0].value == ["loss"] and at.slider[0].value == 0.5
    assert at.session_state["brush"] == {"metrics.acc": [0.1, 0.2]}
    assert "gone no longer exists" in at.info[0].value
    at = _open({"smooth": "lots", "brush": "~garbage"})
    assert not at.exception and at.slider[0].value == 0.0 and "smoothing could not be read" in at.info[0].value


def test_changing_a_widget_writes_the_link_and_defaults_leave_it():
    at = _open({})
    assert "metrics" not in at.query_params and not at.info
    at.multiselect[0].set_value(["acc", "f1"]).run()
    assert at.query_params["metrics"] == "acc,f1"
    at.multiselect[0].set_value(["acc", "f1"]).run()  # a rerun does not restore over the user's state
    at.slider[0].set_value(0.25).run()
    assert at.query_params["smooth"] == "0.25" and at.multiselect[0].value == ["acc", "f1"]
    at.multiselect[0].set_value(["acc"]).run()
    assert "metrics" not in at.query_params
    assert "smooth=0.25" in at.code[0].value


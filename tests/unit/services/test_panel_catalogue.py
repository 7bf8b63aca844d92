"""The panel catalogue (services.panel_catalogue): one source for the boards and the wall.

Every figure must appear on the Grafana boards with its title and its expression, and the
wall must query that same expression and show that same title, so the two cannot drift.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from ioc_monitor import catalogue as c
from services import panel_catalogue as pc
from services.ops import dashboards as dashgen
from services.ops import rules as rg
from services.ops import unit_board, wall_board
from services.wall import queries, views

REPO = Path(__file__).resolve().parents[3]
JS = REPO / "services" / "wall" / "static" / "js"
VIETNAMESE = re.compile(r"[àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđ]")
#: What each generated board selects (its template variables).
BOARD_WHERE = {"ioc-wall": wall_board.WHERE, "ioc-unit": unit_board.WHERE}
UNIT_ID = "qn-c-ha-long"


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _board_panels() -> list[tuple[str, dict[str, Any]]]:
    return [
        (board["uid"], panel)
        for board in dashgen.generate().values()
        for panel in _panels(board["panels"])
    ]


def _figure_scopes() -> list[tuple[pc.Figure, pc.Scope]]:
    return [(f, s) for f in pc.FIGURES for s in f.scopes]


def _ids(value: Any) -> str:
    return value.key if isinstance(value, pc.Figure) else str(value)


def test_every_figure_has_both_titles_a_description_and_a_kind() -> None:
    assert len({f.key for f in pc.FIGURES}) == len(pc.FIGURES) == len(pc.BY_KEY)
    for f in pc.FIGURES:
        assert re.fullmatch(r"[a-z0-9_]+", f.key), f.key
        assert f.kind in ("ratio", "count", "points"), f.key
        for title in (f.title, f.short):
            assert VIETNAMESE.search(title.vi.lower()), (f.key, title)
            assert title.en and title.en.isascii(), (f.key, title)
        assert f.about and f.about.isascii() and f.about.endswith("."), f.key
        assert f.scopes and set(f.scopes) <= set(pc.SCOPES), f.key
    assert [f.key for f in pc.RATIOS] == list(queries.RATIOS)
    assert [f.key for f in pc.DUE_SOON] == [f"due_soon_{w}" for w, _ in c.DUE_SOON_WITHIN]


@pytest.mark.parametrize(("figure", "scope"), _figure_scopes(), ids=_ids)
def test_expressions_read_known_series_and_name_units(figure: pc.Figure, scope: pc.Scope) -> None:
    known = rg.recorded_names(rg.recording_groups()) | {s.name for s in c.CATALOGUE}
    for where in (pc.Where(), queries.WHERE, *BOARD_WHERE.values()):
        expr = figure.expr(scope, where)
        names = rg.metric_names(expr)
        assert names and names <= known, expr
        recorded = {n for n in names if ":" in n}
        if scope == "unit":
            assert pc.NAME_JOIN in expr and not recorded, expr
        else:
            assert recorded and all(n.startswith(f"{scope}:") for n in recorded), expr


def test_a_figure_refuses_a_scope_it_does_not_have() -> None:
    with pytest.raises(ValueError, match="worst_overdue"):
        pc.WORST_OVERDUE.expr("province")


def test_ratios_are_sums_of_counts_never_averages() -> None:
    on_time = pc.BY_KEY["on_time"].expr("level", pc.Where(window='window="24h"'))
    assert on_time.startswith('level:ioc_on_time_ratio:window{window="24h"} or ')
    assert "avg" not in on_time
    assert 'sum by (level, window) (ioc_window_dossiers_completed{window="24h",' in on_time


# --- the boards ---------------------------------------------------------------------------


@pytest.mark.parametrize(("figure", "scope"), _figure_scopes(), ids=_ids)
def test_every_figure_is_on_the_boards_with_its_title_and_expression(
    figure: pc.Figure, scope: pc.Scope
) -> None:
    shown = [
        panel
        for uid, panel in _board_panels()
        if uid in BOARD_WHERE
        and panel.get("title", "").startswith(figure.title.vi)
        and panel.get("description", "").startswith(f"{figure.title.en} (")
        and any(t["expr"] == figure.expr(scope, BOARD_WHERE[uid]) for t in panel["targets"])
    ]
    assert shown, f"no board panel titled {figure.title.vi!r} shows {figure.key} ({scope})"


def test_the_units_table_names_its_columns_by_the_catalogue() -> None:
    table = next(p for uid, p in _board_panels() if uid == "ioc-wall" and p["type"] == "table")
    columns = table["transformations"][1]["options"]["renameByName"]
    by_expr = {t["expr"]: columns[f"Value #{t['refId']}"] for t in table["targets"]}
    for figure in (*pc.RATIOS, pc.OVERDUE, pc.IN_PROGRESS, *pc.DUE_SOON):
        expr = f"max by (unit, level, name) ({figure.expr('unit', wall_board.WHERE)})"
        assert by_expr.get(expr) == figure.short.vi, figure.key


# --- the wall -----------------------------------------------------------------------------


def _wall_query_sets() -> list[tuple[pc.Scope, Mapping[str, str], pc.Where]]:
    """The pages' query sets: the scope of their figures and what they select."""
    return [
        ("province", queries.overview(), queries.WHERE),
        ("level", queries.levels(), queries.WHERE),
        ("unit", queries.units(), queries.WHERE),
        ("unit", queries.unit(UNIT_ID), queries.unit_where(UNIT_ID)),
    ]


def test_the_walls_queries_are_the_catalogues_expressions() -> None:
    seen: set[tuple[str, str]] = set()
    for page_scope, query_set, where in _wall_query_sets():
        for key, expr in query_set.items():
            if key not in pc.BY_KEY:
                continue  # names, targets, numbers of units: not KPI figures
            figure = pc.BY_KEY[key]
            # A figure of units only (the most overdue) is shown on a wider page too.
            scope = page_scope if page_scope in figure.scopes else "unit"
            assert expr == figure.expr(scope, where), (page_scope, key)
            seen.add((key, scope))
    assert seen == {(f.key, s) for f, s in _figure_scopes()}  # every figure, every scope
    history = pc.Where(window='window="24h"')
    for key, expr in queries.province_history().items():
        assert expr == pc.BY_KEY[key].expr("province", history), key
    for key, expr in queries.unit_history(UNIT_ID).items():
        assert expr == pc.BY_KEY[key].expr("unit", queries.unit_where(UNIT_ID, history)), key


def test_the_walls_titles_are_the_catalogues() -> None:
    sent = views.figures()
    assert json.loads(json.dumps(sent)) == sent
    assert list(sent) == [f.key for f in pc.FIGURES]
    for f in pc.FIGURES:
        assert sent[f.key]["title"] == {"vi": f.title.vi, "en": f.title.en}
        assert sent[f.key]["short"] == {"vi": f.short.vi, "en": f.short.en}
        assert sent[f.key]["kind"] == f.kind


def _i18n_keys(lang: str) -> set[str]:
    text = (JS / "i18n.js").read_text(encoding="utf-8")
    body = re.search(rf"^const {lang} = \{{(.*?)^\}};", text, re.S | re.M)
    assert body, lang
    return set(re.findall(r'^\s*"([^"]+)":', body.group(1), re.M))


def test_the_pages_take_figure_titles_from_the_catalogue_only() -> None:
    vi, en = _i18n_keys("vi"), _i18n_keys("en")
    assert vi == en and "kpi.units" in vi
    # No figure title is written in the pages' texts: it could drift from the boards'.
    for f in pc.FIGURES:
        assert f"kpi.{f.key}" not in vi and f"series.{f.key}" not in vi, f.key
    pages = "\n".join(p.read_text(encoding="utf-8") for p in sorted(JS.rglob("*.js")))
    used = set(re.findall(r"\b(?:kpi|series)\.([a-z0-9_]+)", pages))
    used |= set(re.findall(r'ratioTile\(ctx, "([a-z0-9_]+)"', pages))
    for names in re.findall(r"lineChart\([^\n]*?\[([^\]]*)\]", pages):
        used |= set(re.findall(r'"([a-z0-9_]+)"', names))
    for names in re.findall(r"const more = \[([^\]]*)\]", pages):
        used |= set(re.findall(r'"([a-z0-9_]+)"', names))
    assert used
    unknown = {k for k in used if k not in pc.BY_KEY and f"kpi.{k}" not in vi}
    assert unknown <= {"time"}, unknown  # series.time is the chart's time axis

"""The fidelity API: claims declared by figure modules, evaluated on figure data."""

from __future__ import annotations

import csv
import importlib
import pkgutil
import re
from pathlib import Path

import numpy as np
import pytest

import hrtem.figures
from hrtem.errors import HrtemError
from hrtem.figures import fidelity
from hrtem.figures.fidelity import COLUMNS, Claim, FigureData, collect, evaluate, write_csv, write_html, write_rst

ROOT = Path(__file__).resolve().parents[2]


def _catalogue_ids() -> set[str]:
    """Figure ids of the catalogue FIGURES.md (first table column), when the shared docs are at hand."""
    for docs in (ROOT.parent / "shared" / "docs", Path("/work/shared/docs")):
        if (docs / "FIGURES.md").is_file():
            text = (docs / "FIGURES.md").read_text()
            return {i for cell in re.findall(r"^\| ([a-z0-9_, …]+) \|", text, flags=re.M)
                    for i in re.findall(r"[a-z]+\d*_?\w*", cell) if "_" in i}
    return set()


def _figure_modules() -> list[str]:
    """Every module of hrtem.figures that makes a figure (defines make()) or is a FIGURES.md id."""
    catalogue = _catalogue_ids()
    ids = []
    for info in pkgutil.iter_modules(hrtem.figures.__path__):
        module = importlib.import_module(f"hrtem.figures.{info.name}")
        if callable(getattr(module, "make", None)) or info.name in catalogue:
            ids.append(info.name)
    return sorted(ids)


def _write_csv(path, header, rows, meta=None):
    with open(path, "w", newline="") as fh:
        for k, v in (meta or {}).items():
            fh.write(f"# {k}={v}\n")
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def test_figure_modules_are_found():
    ids = _figure_modules()
    assert {"fig2_3", "fig4_5", "fig6_9"} <= set(ids)
    assert "fidelity" not in ids and "style" not in ids


@pytest.mark.parametrize("figure_id", _figure_modules())
def test_every_figure_declares_claims(figure_id):
    claims = fidelity.claims_of(figure_id)
    assert claims and all(isinstance(c, Claim) for c in claims)
    for c in claims:
        assert c.source.startswith(("000 L", "001 L", "002 L", "003 L")), (figure_id, c.quantity, c.source)
        assert c.quantity and c.tolerance_text()


def test_numeric_claim_holds_within_tolerance(tmp_path):
    _write_csv(tmp_path / "figx.csv", ["step", "bond_a"], [["a", "1.0"], ["b", "1.425"]], meta={"n": "3"})
    d = FigureData("figx", tmp_path)
    assert d.meta == {"n": "3"}
    c = Claim("bond", "Å", thesis=1.42, source="003 L1", ours=lambda d: d.scalar("bond_a", step="b"),
              tolerance=0.01)
    row = evaluate("figx", c, d)
    assert (row.holds, row.ours, row.thesis, row.tolerance) == ("yes", "1.425 Å", "1.42 Å (003 L1)", "± 0.01 Å")
    tight = Claim("bond", "Å", thesis=1.42, source="003 L1", ours=lambda d: d.scalar("bond_a", step="b"),
                  rel_tolerance=0.001)
    assert evaluate("figx", tight, d).holds == "no"
    small = Claim("bond", "Å", thesis=1.42, source="003 L1", ours=lambda d: d.scalar("bond_a", step="b"),
                  tolerance=0.01, at_scale=lambda d: int(d.meta["n"]) >= 40)
    assert evaluate("figx", small, d).holds == "not at this scale"


def test_statement_claim_and_errors(tmp_path):
    _write_csv(tmp_path / "figx.csv", ["x", "y"], [["0", "1"], ["1", ""]])
    d = FigureData("figx", tmp_path)
    assert np.isnan(d.csv["y"][1])
    c = Claim("rises", "", thesis="y grows", source="003 L2", ours=lambda d: float(np.nanmax(d.csv["x"])),
              holds=lambda ours, d: ours > 0.5, criterion="max x > 0.5")
    assert evaluate("figx", c, d).holds == "yes"
    with pytest.raises(HrtemError, match="needs holds"):
        Claim("s", "", thesis="words", source="003 L2", ours=lambda d: 1.0)
    with pytest.raises(HrtemError, match="tolerance"):
        Claim("s", "", thesis=1.0, source="003 L2", ours=lambda d: 1.0)
    missing = Claim("z", "", thesis=1.0, source="003 L2", ours=lambda d: d.csv["z"][0], tolerance=1)
    with pytest.raises(HrtemError, match="figx.*'z'"):
        evaluate("figx", missing, d)
    with pytest.raises(HrtemError, match="does not exist"):
        evaluate("figy", missing, FigureData("figy", tmp_path))


def test_cheap_figures_on_real_data_and_outputs(tmp_path):
    """fig2_3 and fig6_9 made by their modules; their claims hold at the default parameters."""
    from hrtem.figures import run

    run("fig2_3", [], tmp_path / "fig2_3.png", {"figure": {"n_q": 1501}}, 0)
    run("fig6_9", [], tmp_path / "fig6_9.png", {}, 0)
    rows = collect(["fig2_3", "fig6_9"], tmp_path)
    assert len(rows) == len(fidelity.claims_of("fig2_3")) + len(fidelity.claims_of("fig6_9"))
    assert all(r.holds == "yes" for r in rows), [(r.quantity, r.ours, r.holds) for r in rows]
    scherzer = next(r for r in rows if r.quantity.startswith("Scherzer"))
    assert scherzer.ours.startswith("−41.2")
    out = write_csv(rows, tmp_path / "fidelity.csv")
    with open(out, newline="") as fh:
        back = list(csv.DictReader(fh))
    assert tuple(back[0]) == COLUMNS and len(back) == len(rows)
    assert fidelity.read_csv(out) == rows
    page = write_html(rows, tmp_path / "fidelity.html").read_text()
    assert page.count("<tr") == len(rows) + 1 and "4 of 4 claims hold" in page
    rst = write_rst(rows, tmp_path / "fidelity.rst").read_text()
    assert "|" not in rst and rst.count("\n   \"fig") == len(rows)


def test_figure_without_claims_shows_in_table(tmp_path):
    rows = collect(["style"], tmp_path)
    assert len(rows) == 1 and rows[0].holds == "no" and "declares no CLAIMS" in rows[0].note

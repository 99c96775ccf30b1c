"""The Snakemake report is clean: no docutils message from any caption or the fidelity page."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest
import yaml
from docutils.core import publish_parts

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
# docutils system messages as printed, e.g. "<string>:1: (ERROR/3) Undefined substitution referenced"
DOCUTILS_MESSAGE = re.compile(r"\((INFO/1|WARNING/2|ERROR/3|SEVERE/4)\)")


@pytest.mark.parametrize("caption", sorted((ROOT / "workflow" / "report").glob("*.rst")), ids=lambda p: p.name)
def test_every_caption_renders_without_docutils_messages(caption):
    """All captions, also of figures too slow for the report test below (Jinja, then docutils)."""
    snakemake = type("Snakemake", (), {"config": {"run": "tiny"}})
    text = jinja2.Environment().from_string(caption.read_text()).render(files=[], snakemake=snakemake)
    err = io.StringIO()
    publish_parts(text, writer_name="html", settings_overrides={"warning_stream": err, "report_level": 1})
    assert err.getvalue() == "", err.getvalue()


@pytest.mark.slow
def test_report_of_tiny_run_is_clean(tmp_path):
    """fig2_3, fig6_9 and the fidelity table -> snakemake --report prints no docutils message."""
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump({"run": "tiny", "figures": ["fig2_3", "fig6_9"]}))
    base = [str(SNAKEMAKE), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
            "--configfile", str(tmp_path / "tiny.yaml"), "--cores", "2"]
    run = subprocess.run(base, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (tmp_path / "results/tiny/fidelity.csv").is_file()
    report = subprocess.run([*base, "--report", "report.html"], capture_output=True, text=True, timeout=300)
    out = report.stdout + report.stderr
    assert report.returncode == 0, out[-3000:]
    assert not DOCUTILS_MESSAGE.search(out), out
    page = (tmp_path / "report.html").read_text()
    assert "System Message" not in page and "system-message" not in page
    # the landing page (workflow description) carries the fidelity summary and table
    desc = page[page.index("workflow_desc ="):page.index("workflow_desc =") + 20000]
    assert "Fidelity to the thesis" in desc and "claims hold" in desc
    assert "003 L4866" in desc and "not part of this report" not in desc
    assert '"0 Fidelity"' in page or "0 Fidelity" in page

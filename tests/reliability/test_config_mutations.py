"""Every generated config mutation is rejected before compute with one line naming the key.

The table (count per category) is printed (``pytest -s``) and written to
``$HRTEM_RELIABILITY_REPORT/config_mutations.md`` when that variable is set.
"""

from __future__ import annotations

import os
from pathlib import Path

from hrtem.config import schema

from .mutations import CATEGORIES, leaves, run_all, table


def test_every_mutation_of_every_key_is_rejected_with_one_line_naming_the_key():
    results = run_all()
    text = table(results)
    print("\nconfig mutations (rejected = one-line ConfigError naming the key)\n" + text)
    report = os.environ.get("HRTEM_RELIABILITY_REPORT")
    if report:
        Path(report).mkdir(parents=True, exist_ok=True)
        (Path(report) / "config_mutations.md").write_text(text + "\n")
    # every category is exercised, and every leaf key of the schema is mutated
    assert {m.category for m, _, _ in results} == set(CATEGORIES)
    assert sum(m.category == "wrong type" for m, _, _ in results) == len(leaves(schema()))
    bad = [
        f"{m.category} {m.key}: {verdict} {msg[:120]}" for m, verdict, msg in results if verdict not in ("rejected", "harmless")
    ]
    assert not bad, f"{len(bad)} mutations not rejected cleanly:\n" + "\n".join(bad[:20])

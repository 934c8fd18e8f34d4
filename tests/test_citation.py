"""CITATION.cff: YAML with the keys CFF 1.2.0 requires, the package's version and licence, and
the works the suite builds on as references (checked once with cffconvert's schema validation;
no dependency on it here)."""

from __future__ import annotations

import datetime
import re

import pytest
import yaml
from conftest import ROOT

#: the reference types this file uses, of CFF 1.2.0's list
REFERENCE_TYPES = {"article", "conference-paper", "book", "software", "report", "thesis", "generic"}
CITED = {("Lin", 2017), ("Mukhoti", 2020), ("Charoenphakdee", 2021), ("Nadeau", 2003), ("Corani", 2015),
         ("Benavoli", 2017)}


@pytest.fixture(scope="module")
def cff() -> dict:
    return yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))


def _is_person_or_entity(author: dict) -> bool:
    return bool(author.get("name")) or bool(author.get("family-names") and author.get("given-names"))


def test_citation_has_the_keys_cff_requires(cff):
    assert cff["cff-version"] == "1.2.0"
    for key in ("message", "title"):
        assert isinstance(cff[key], str) and cff[key].strip(), key
    assert cff["authors"] and all(_is_person_or_entity(a) for a in cff["authors"])
    assert cff["date-released"] == datetime.date(2026, 12, 2)


def test_citation_names_the_packages_version_and_licence(cff):
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert str(cff["version"]) == project["version"] and cff["license"] == project["license"]


def test_citation_references_the_works_the_suite_builds_on(cff):
    for ref in cff["references"]:
        assert ref["type"] in REFERENCE_TYPES and ref["title"].strip(), ref
        assert ref["authors"] and all(_is_person_or_entity(a) for a in ref["authors"]), ref["title"]
        assert isinstance(ref["year"], int), ref["title"]
        assert "doi" not in ref or re.fullmatch(r"10\.\d{4,9}/\S+", ref["doi"]), ref["doi"]
    assert {(ref["authors"][0]["family-names"], ref["year"]) for ref in cff["references"]} == CITED

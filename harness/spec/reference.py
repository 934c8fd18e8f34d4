"""docs/spec-reference.md, generated from the spec schema: every key, its type, default and description.

``python -m harness.spec.reference`` prints it, ``--write`` rewrites docs/spec-reference.md (``make
docs``); tests/test_docs.py fails when the committed file is stale. The schema is walked through
pydantic's ``model_fields`` and annotations from :class:`~harness.spec.Spec` down, using public names
of ``harness.spec`` only. A key's text is its ``Field(description=...)`` in the schema: edit it there.
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, Union

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from harness.spec.schema import CollectionSpec, Spec

OUT = Path(__file__).resolve().parents[2] / "docs" / "spec-reference.md"

#: Entry forms a validator accepts in place of the declared one, so not in the annotations:
#: top-level key -> (model, what it is).
ALTERNATIVES: dict[str, tuple[type[BaseModel], str]] = {
    "datasets": (CollectionSpec, "a collection entry"),
}

HEADER = """\
# Spec reference

<!-- Generated from the schema in harness/spec/schema.py by `make docs` (python -m harness.spec.reference --write).
     Do not edit by hand: change a field's description in harness/spec/schema.py and regenerate. -->

Every key a benchmark spec (a YAML file such as `benchmarks/smoke.yaml`) may set, with its type,
default and meaning, generated from the schema. Unknown keys are errors. How to write a spec, with a
worked example: [Writing a spec](writing-a-spec.md).
"""


# --- types ----------------------------------------------------------------------------------------

def _unwrap(annotation: Any) -> tuple[Any, list[Any], str | None]:
    """``annotation`` without ``Annotated``: the bare type, its constraints and its discriminator."""
    constraints: list[Any] = []
    discriminator = None
    while typing.get_origin(annotation) is Annotated:
        annotation, *extras = typing.get_args(annotation)
        for extra in extras:
            if isinstance(extra, FieldInfo):
                constraints += extra.metadata
                discriminator = discriminator or extra.discriminator
            else:
                constraints.append(extra)
    return annotation, constraints, discriminator


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (Union, types.UnionType)


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _number(value: Any) -> str:
    """A bound as a reader writes it: 0, 1, 0.5."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _constraints(constraints: list[Any]) -> tuple[list[str], list[str]]:
    """Words before the type's name (``non-empty``, ``finite``) and after it (``≥ 1``, ``in (0, 1)``,
    ``matching `…```)."""
    before: list[str] = []
    after: list[str] = []
    bounds: dict[str, Any] = {}
    for c in constraints:
        for kind in ("ge", "gt", "le", "lt"):
            if isinstance(c, getattr(at, kind.capitalize())):
                bounds[kind] = getattr(c, kind)
        if isinstance(c, at.MinLen):
            before.append("non-empty" if c.min_length == 1 else f"at least {c.min_length} long")
        if getattr(c, "allow_inf_nan", None) is False:
            before.append("finite")
        if isinstance(getattr(c, "pattern", None), str):
            after.append(f"matching `{c.pattern}`")
    low = ("[", bounds["ge"]) if "ge" in bounds else ("(", bounds["gt"]) if "gt" in bounds else None
    high = (bounds["le"], "]") if "le" in bounds else (bounds["lt"], ")") if "lt" in bounds else None
    if low and high:
        after.insert(0, f"in {low[0]}{_number(low[1])}, {_number(high[0])}{high[1]}")
    elif low:
        after.insert(0, f"{'≥' if low[0] == '[' else '>'} {_number(low[1])}")
    elif high:
        after.insert(0, f"{'≤' if high[1] == ']' else '<'} {_number(high[0])}")
    return before, after


_NAMES = {str: ("string", "strings"), int: ("integer", "integers"), float: ("number", "numbers"),
          bool: ("boolean", "booleans"), Any: ("any value", "any values")}


def type_text(annotation: Any, constraints: list[Any] | tuple = (), plural: bool = False) -> str:
    """A reader's name for a type: ``integer ≥ 1``, ``non-empty list of strings``, ``one of `a`, `b```."""
    annotation, inner, _ = _unwrap(annotation)
    constraints = [*constraints, *inner]
    if _is_union(annotation):
        args = typing.get_args(annotation)
        kept = [a for a in args if a is not type(None)]
        if len(kept) == 1:  # an optional: the constraints are the value's
            text = type_text(kept[0], constraints, plural)
        else:
            text = " or ".join(dict.fromkeys(type_text(a, (), plural) for a in kept))
        return text + (" or null" if len(kept) < len(args) else "")
    before, after = _constraints(constraints)
    origin = typing.get_origin(annotation)
    if origin is Literal:
        values = [f"`{yaml_text(v)}`" for v in typing.get_args(annotation)]
        name = values[0] if len(values) == 1 else "one of " + ", ".join(values)
    elif origin is list:
        name = f"list of {type_text(typing.get_args(annotation)[0], (), plural=True)}"
    elif origin is dict:
        name = "mappings" if plural else "mapping"
    elif _is_model(annotation):
        name = "mappings" if plural else "mapping"
    else:
        name = _NAMES.get(annotation, (getattr(annotation, "__name__", str(annotation)),) * 2)[plural]
    return " ".join([*before, name, *after])


def models_in(annotation: Any) -> tuple[list[type[BaseModel]], str | None, bool]:
    """The models ``annotation`` holds (in a list, a union, an optional), the discriminator that
    tells them apart, and whether they are list items."""
    annotation, _, discriminator = _unwrap(annotation)
    if typing.get_origin(annotation) is list:
        models, inner, _ = models_in(typing.get_args(annotation)[0])
        return models, inner, True
    if _is_union(annotation):
        found: list[type[BaseModel]] = []
        for arg in typing.get_args(annotation):
            models, inner, _ = models_in(arg)
            found += [m for m in models if m not in found]
            discriminator = discriminator or inner
        return found, discriminator, False
    return ([annotation] if _is_model(annotation) else []), discriminator, False


def _takes_string(annotation: Any) -> bool:
    """Whether a list's items may be plain strings besides mappings (``methods: [ce, {name: focal}]``)."""
    annotation = _unwrap(annotation)[0]
    if typing.get_origin(annotation) is list:
        annotation = _unwrap(typing.get_args(annotation)[0])[0]
    return _is_union(annotation) and str in typing.get_args(annotation)


# --- values ---------------------------------------------------------------------------------------

def yaml_text(value: Any) -> str:
    """``value`` in YAML's flow style, as a spec would write it; a model as its name and the keys
    that differ from their defaults."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value or '""'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(yaml_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {yaml_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, BaseModel):
        plain = type(value).model_construct()
        shown = {k: getattr(value, k) for k in type(value).model_fields
                 if k == "name" or getattr(value, k) != getattr(plain, k, None)}
        return yaml_text(shown)
    return str(value)


def default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.default_factory() if field.default_factory is not None else field.default
    if value is PydanticUndefined:
        return "required"
    if isinstance(value, BaseModel) and yaml_text(value) == "{}":
        return "its keys' defaults"
    return f"`{yaml_text(value)}`"


def _markdown(text: str) -> str:
    """A description as Markdown: reST's double backticks as single ones, ``<`` and ``>`` outside
    code spans as entities (``<loss>`` is not an HTML tag)."""
    parts = text.replace("``", "`").split("`")
    for i in range(0, len(parts), 2):  # outside code spans
        parts[i] = parts[i].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)


def _cell(text: str) -> str:
    """Text safe inside one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _doc(model: type[BaseModel]) -> str:
    """The model's docstring, first paragraph, on one line, as Markdown."""
    return _markdown(" ".join((model.__doc__ or "").strip().split("\n\n")[0].split()))


def _sentence(lead: str, doc: str) -> str:
    return f"{lead}." if not doc else f"{lead}: {doc[0].lower()}{doc[1:]}"


# --- the walk -------------------------------------------------------------------------------------

class Section(NamedTuple):
    level: int  # of its Markdown heading
    path: str  # where its keys sit in a spec: "" (the top level), "tuning.tuned_loss", "models[]"
    title: str
    intro: str
    model: type[BaseModel] | None  # None: a heading over the sections below it, with no table


def sections() -> list[Section]:
    """The reference's sections in order: the top level, then each top-level key that holds
    mappings, with the mappings nested in those. A model met twice is documented once, at its
    first path (tests check that every field of every model here has a description)."""
    seen: set[type[BaseModel]] = {Spec}
    out = [Section(2, "", "Top level", _doc(Spec), Spec)]

    def nested(path: str, model: type[BaseModel], level: int) -> None:
        for key, field in model.model_fields.items():
            subs, _, in_list = models_in(field.annotation)
            for sub in subs:
                if sub not in seen:
                    seen.add(sub)
                    where = f"{path}.{key}" + ("[]" if in_list else "")
                    out.append(Section(level, where, f"`{where}`", _sentence(f"`{key}` of `{path}`", _doc(sub)), sub))
                    nested(where, sub, min(level + 1, 6))

    for key, field in Spec.model_fields.items():
        models, discriminator, in_list = models_in(field.annotation)
        if not models:
            continue
        path = key + ("[]" if in_list else "")
        if discriminator is not None:
            out.append(Section(2, key, f"`{key}`", f"Each entry of `{key}` is one of the following, chosen by its "
                               f"`{discriminator}`." if in_list else f"`{key}` is one of the following.", None))
            for model in models:
                values = typing.get_args(_unwrap(model.model_fields[discriminator].annotation)[0])
                names = " or ".join(f"`{yaml_text(v)}`" for v in values)
                seen.add(model)
                out.append(Section(3, path, f"`{path}` with {discriminator} {names}", _doc(model), model))
                nested(path, model, 4)
            continue
        for model in models:
            if in_list:
                form = "a plain string or a mapping" if _takes_string(field.annotation) else "a mapping"
                intro = _sentence(f"Each entry of `{key}`: {form} with these keys", _doc(model))
            else:
                intro = _doc(model)
            seen.add(model)
            out.append(Section(2, path, f"`{key}`", intro, model))
            nested(path, model, 3)
        if key in ALTERNATIVES:
            model, what = ALTERNATIVES[key]
            seen.add(model)
            out.append(Section(3, path, f"`{path}`: {what}", _doc(model), model))
            nested(path, model, 4)
    return out


def _table(section: Section, documented: dict[type[BaseModel], str]) -> list[str]:
    """One row per key of the section's model: key, type, default, description."""
    rows = ["| key | type | default | description |", "| --- | --- | --- | --- |"]
    for key, field in section.model.model_fields.items():
        description = _markdown(field.description or "")
        for sub in models_in(field.annotation)[0]:
            elsewhere = documented.get(sub)
            below = section.path + "." if section.path else ""
            if elsewhere is not None and sub is not section.model and not elsewhere.startswith(below + key):
                description += f"; its keys: as under `{elsewhere}`"
        rows.append(f"| `{key}` | {_cell(type_text(field.annotation, field.metadata))} | "
                    f"{_cell(default_text(field))} | {_cell(description)} |")
    return rows


def render() -> str:
    """The whole of docs/spec-reference.md."""
    found = sections()
    documented: dict[type[BaseModel], str] = {}
    for section in found:
        if section.model is not None:
            documented.setdefault(section.model, section.path)
    out = [HEADER.rstrip("\n")]
    for section in found:
        out += ["", "#" * section.level + " " + section.title]
        if section.intro:
            out += ["", section.intro]
        if section.model is not None:
            out += ["", *_table(section, documented)]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.spec.reference",
                                     description="Print docs/spec-reference.md, generated from the spec schema.")
    parser.add_argument("--write", action="store_true", help="write docs/spec-reference.md instead")
    args = parser.parse_args(argv)
    text = render()
    if args.write:
        OUT.write_text(text)
        print(f"wrote {OUT} ({len(text.encode())} bytes)")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Read a recipe file, validate it, and report any problem as one line: ``file:line: field.path: problem``."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from tailor.engine import kinds
from tailor.engine.errors import RecipeError
from tailor.engine.recipes.common import Recipe, suggest
from tailor.engine.recipes.yamlio import compose_yaml, load_yaml


def load_recipe(path: str | Path, *, check_files: bool = True) -> Recipe:
    """Load and validate a recipe file. Relative data paths resolve against the recipe's folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RecipeError(f"{path}: no such recipe file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(f"{path}: cannot read recipe: {exc}") from None
    return parse_recipe(text, source=str(path), base_dir=path.parent, check_files=check_files)


def parse_recipe(
    text: str | dict[str, Any],
    *,
    source: str = "<recipe>",
    base_dir: Path | None = None,
    check_files: bool = True,
) -> Recipe:
    """Validate recipe text (or an already-parsed mapping)."""
    lines: dict[tuple[str, ...], int] = {}
    if isinstance(text, str):
        try:
            data = load_yaml(text)
            lines = line_index(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{source}:{mark.line + 1}" if mark else source
            problem = getattr(exc, "problem", None) or str(exc)
            raise RecipeError(f"{where}: invalid YAML: {problem}") from None
    else:
        data = text
    if not isinstance(data, dict):
        raise RecipeError(f"{source}: a recipe must be a YAML mapping with a 'kind' key")
    kind = data.get("kind")
    if not kinds.known(kind):
        choices = ", ".join(kinds.names())
        hint = difflib.get_close_matches(str(kind), kinds.names(), n=1)
        tip = f"; did you mean '{hint[0]}'?" if hint and kind is not None else ""
        got = "missing" if kind is None else f"unknown kind {kind!r}"
        raise RecipeError(f"{_where(source, lines, ('kind',))}: kind: {got}; use one of {choices}{tip}")
    model = kinds.get(kind).recipe_model()
    try:
        recipe = model.model_validate(data)
    except ValidationError as exc:
        raise RecipeError(describe_error(exc, model, source, lines)) from None
    if not isinstance(recipe, Recipe):
        raise RecipeError(f"{source}: kind {kind}: its model {model.__name__} must subclass {Recipe.__module__}.Recipe")
    if check_files and base_dir is not None:
        resolve_paths(recipe, base_dir, source)
    return recipe


def resolve_paths(recipe: BaseModel, base_dir: Path, source: str = "<recipe>") -> None:
    """Make local data paths absolute (relative to ``base_dir``) and check that they exist.

    A path that does not exist locally and looks like a hub id (``org/name``) is left for the loader,
    which gives a clear offline message when the hub cannot be reached.
    """
    hook = getattr(recipe, "resolve_files", None)
    if callable(hook):  # kinds that reference other files (search: its base recipe) resolve them
        hook(base_dir, source)
        return
    resolve_data_paths(recipe, base_dir, source)


def resolve_data_paths(recipe: BaseModel, base_dir: Path, source: str = "<recipe>") -> None:
    """Make the recipe's ``data:`` paths absolute and check them (a kind's ``resolve_files`` hook may call it)."""
    data = getattr(recipe, "data", None)
    groups: list[tuple[str, list[Any]]] = []
    if isinstance(data, list):
        groups.append(("data", data))
    elif data is not None:
        groups.append(("data.train", data.train))
        if data.eval:
            groups.append(("data.eval", data.eval))
    for label, sources in groups:
        for i, src in enumerate(sources):
            src.path = _resolve_one(src.path, base_dir, f"{source}: {label}[{i}].path")


def _resolve_one(raw: str, base_dir: Path, where: str) -> str:
    head, sep, name = raw.rpartition("#")
    if sep and head.endswith("dataset_info.json"):  # a LLaMA-Factory registry entry: resolve the registry
        return f"{_resolve_one(head, base_dir, where)}#{name}"
    path = Path(raw).expanduser()
    candidate = path if path.is_absolute() else (base_dir / path)
    if any(ch in raw for ch in "*?["):
        import glob

        if not glob.glob(str(candidate)):
            raise RecipeError(f"{where}: the pattern {raw!r} matches no file")
        return str(candidate.resolve(strict=False)) if not path.is_absolute() else raw
    if candidate.exists():
        return str(candidate.resolve())
    if looks_like_hub_id(raw):
        return raw
    raise RecipeError(
        f"{where}: no such dataset file {raw!r} (relative paths are relative to the recipe's folder {base_dir})"
    )


def looks_like_hub_id(raw: str) -> bool:
    parts = raw.split("/")
    return (
        len(parts) == 2
        and all(parts)
        and not raw.startswith((".", "~"))
        and "." not in parts[1].rsplit("-", 1)[-1][-6:]  # no file extension such as .jsonl
    )


def dump_recipe(recipe: BaseModel) -> str:
    """The frozen form written into a run directory: every field, defaults included."""
    return yaml.safe_dump(recipe.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def describe_error(exc: ValidationError, model: type[BaseModel], source: str, lines: dict) -> str:
    """The first problem of ``exc`` as one line: ``source:line: dotted.path: what is wrong`` (``lines``
    from :func:`line_index`; search recipes and trial recipes describe their errors the same way)."""
    err = exc.errors()[0]
    loc = tuple(str(p) for p in err["loc"])
    cause = (err.get("ctx") or {}).get("error")
    key = getattr(cause, "key", None)
    if key:  # a problem inside a free-form block such as train: (search recipes: a tuple, a deeper path)
        loc = (*loc, *(key if isinstance(key, tuple) else (key,)))
    path = _dotted(loc)
    where = _where(source, lines, loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        options = _fields_at(model, loc[:-1])
        hint = suggest(loc[-1], options)
        tip = f"; did you mean '{hint}'?" if hint else (f"; expected one of: {', '.join(options)}" if options else "")
        return f"{where}: {path}: unknown key{tip}"
    if kind == "missing":
        return f"{where}: {path}: required field is missing"
    msg = str(cause) if cause is not None else err["msg"]
    msg = msg.removeprefix("Value error, ")
    got = err.get("input")
    if kind not in ("value_error", "assertion_error") and not isinstance(got, dict | list) and cause is None:
        msg = f"{msg} (got {got!r})"
    return f"{where}: {path}: {msg}" if path else f"{where}: {msg}"


def _dotted(loc: tuple[str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out


def _fields_at(model: type[BaseModel], loc: tuple[str, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        if part.isdigit():
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = _model_in(field.annotation)
        if current is None:
            return []
    return list(getattr(current, "model_fields", {}))


def _model_in(annotation: Any) -> Any:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _where(source: str, lines: dict[tuple[str, ...], int], loc: tuple[str, ...]) -> str:
    for n in range(len(loc), 0, -1):
        if loc[:n] in lines:
            return f"{source}:{lines[loc[:n]]}"
    return source


def line_index(text: str) -> dict[tuple[str, ...], int]:
    """Map each key path in the YAML document to its 1-based line number."""
    out: dict[tuple[str, ...], int] = {}
    try:
        root = compose_yaml(text)
    except yaml.YAMLError:
        return out

    def walk(node: yaml.Node, prefix: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                path = (*prefix, str(key.value))
                out[path] = key.start_mark.line + 1
                walk(value, path)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                path = (*prefix, str(i))
                out[path] = item.start_mark.line + 1
                walk(item, path)

    if root is not None:
        walk(root, ())
    return out

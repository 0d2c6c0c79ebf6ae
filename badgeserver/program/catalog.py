"""The catalog file (YAML, badgeserver-catalog/1): parse and check it, naming the field and line at fault."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from badgeserver.errors import InputError

FORMAT = "badgeserver-catalog/1"
MAX_CATALOG_BYTES = 4 * 1024 * 1024
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$")
_VERSION = re.compile(r"^[A-Za-z0-9._-]{1,20}$")
_LINKEDIN_ID = re.compile(r"^[0-9]{1,20}$")
AUDIENCES = ("teacher", "coach", "counselor", "administrator")


# The fields each part of the catalog may have (keyed by the part's name in the field path).
MAX_VALIDITY_DAYS = 36_500  # a hundred years
_KEYS: dict[str, frozenset[str]] = {
    "catalog": frozenset({"format", "program", "issuers", "microcredentials", "stacks", "bundles"}),
    "program": frozenset({"name", "description"}),
    "issuers": frozenset(
        {"slug", "name", "url", "email", "description", "image", "linkedin_organization_id"}
    ),
    "microcredentials": frozenset(
        {
            "slug",
            "issuer",
            "name",
            "version",
            "achievement_type",
            "audience",
            "credit",
            "fee",
            "validity_days",
            "description",
            "criteria",
            "evidence",
            "reflection_prompts",
            "rubric",
            "alignments",
            "tags",
            "image",
        }
    ),
    "evidence": frozenset({"name", "description"}),
    "rubric": frozenset({"id", "name", "description", "required", "levels"}),
    "levels": frozenset({"id", "name", "description"}),
    "alignments": frozenset({"name", "url", "framework"}),
    "stacks": frozenset({"slug", "issuer", "name", "description", "credit", "image", "microcredentials"}),
    "bundles": frozenset({"slug", "issuer", "name", "description", "credit", "image", "stacks"}),
}


class CatalogError(InputError):
    """The catalog file is wrong at one field; the message names the field and its line."""

    code = "catalog_invalid"


@dataclass(frozen=True)
class CatalogImage:
    """A badge image: the SVG and its PNG twin, as bytes."""

    svg: bytes
    png: bytes


@dataclass(frozen=True)
class CatalogIssuer:
    """An issuing organization."""

    slug: str
    name: str
    url: str | None
    email: str | None
    description: str | None
    image_png: bytes | None
    linkedin_organization_id: str | None = None  # the issuer's LinkedIn company page id, digits only


@dataclass(frozen=True)
class RubricLevelDef:
    """One level of a rubric criterion."""

    id: str
    name: str
    description: str


@dataclass(frozen=True)
class RubricCriterionDef:
    """One rubric criterion, its levels (lowest first) and the level needed to earn."""

    id: str
    name: str
    description: str
    required: str
    levels: tuple[RubricLevelDef, ...]


@dataclass(frozen=True)
class MicrocredentialDef:
    """One microcredential version as the catalog describes it."""

    slug: str
    issuer: str
    name: str
    version: str
    achievement_type: str
    audience: tuple[str, ...]
    credit: Decimal
    fee_cents: int
    validity_days: int | None  # None: the credential never expires
    description: str
    criteria: str
    evidence: tuple[tuple[str, str], ...]
    reflection_prompts: tuple[str, ...]
    rubric: tuple[RubricCriterionDef, ...]
    alignments: tuple[tuple[str, str, str | None], ...]
    tags: tuple[str, ...]
    image: CatalogImage


@dataclass(frozen=True)
class GroupDef:
    """A stack (members are microcredential slugs) or a bundle (members are stack slugs)."""

    slug: str
    issuer: str
    name: str
    description: str
    credit: Decimal
    image: CatalogImage
    members: tuple[str, ...]


@dataclass(frozen=True)
class Catalog:
    """A whole, checked catalog."""

    program_name: str
    issuers: tuple[CatalogIssuer, ...]
    microcredentials: tuple[MicrocredentialDef, ...]
    stacks: tuple[GroupDef, ...]
    bundles: tuple[GroupDef, ...]


class _LineLoader(yaml.SafeLoader):
    """A safe YAML loader that remembers the line of every mapping and sequence item."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in node.value:
        if isinstance(key, yaml.ScalarNode):
            if key.value in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key.value!r} appears twice in one mapping", key.start_mark
                )
            seen.add(key.value)
    mapping = _Located({str(k): v for k, v in loader.construct_mapping(node, deep=True).items()})
    mapping.line = node.start_mark.line + 1
    mapping.lines = {k.value: k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
    return mapping


class _Located(dict[str, Any]):
    line = 0
    lines: dict[str, int] = {}


class _LocatedList(list[Any]):
    line = 0


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> list[Any]:
    sequence = _LocatedList(loader.construct_sequence(node, deep=True))
    sequence.line = node.start_mark.line + 1
    return sequence


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


class _Reader:
    """Reads one catalog, raising CatalogError with the file, line and field path."""

    def __init__(self, source: str, folder: Path | None) -> None:
        self.source = source
        self.folder = folder

    def fail(self, where: Any, path: str, key: str | None, message: str) -> CatalogError:
        line = (
            where.lines.get(key, where.line)
            if isinstance(where, _Located) and key
            else getattr(where, "line", 0)
        )
        field = f"{path}.{key}" if key else path
        return CatalogError(f"{self.source} line {line}: {field}: {message}")

    def mapping(self, value: Any, path: str, parent: Any = None, key: str | None = None) -> _Located:
        if not isinstance(value, _Located):
            raise self.fail(parent if parent is not None else value, path, key, "must be a mapping.")
        allowed = _KEYS.get(re.sub(r"\[\d+\]", "", path).rsplit(".", 1)[-1])
        for name in value:
            if allowed is not None and name not in allowed:
                raise self.fail(value, path, name, f"{name!r} is not a field of the catalog format.")
        return value

    def text(
        self, data: _Located, path: str, key: str, *, required: bool = True, limit: int = 20000
    ) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                raise self.fail(data, path, None, f"{key} is required.")
            return None
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise self.fail(data, path, key, "must be text.")
        text = str(value).strip()
        if required and not text:
            raise self.fail(data, path, key, "must not be empty.")
        if len(text) > limit:
            raise self.fail(data, path, key, f"is longer than {limit} characters.")
        return text

    def slug(self, data: _Located, path: str, key: str = "slug") -> str:
        value = self.text(data, path, key) or ""
        if not _SLUG.match(value):
            raise self.fail(data, path, key, f"{value!r} must be lower-case letters, digits and hyphens.")
        return value

    def decimal(self, data: _Located, path: str, key: str, default: str) -> Decimal:
        raw = data.get(key, default)
        try:
            value = Decimal(str(raw))
        except InvalidOperation:
            raise self.fail(data, path, key, f"{raw!r} is not a number.") from None
        if value < 0 or value > 100 or value != value.quantize(Decimal("0.01")):
            raise self.fail(data, path, key, f"{raw!r} must be between 0 and 100 with at most two decimals.")
        return value

    def validity_days(self, data: _Located, path: str) -> int | None:
        """How many days a credential of this microcredential stays valid (validUntil); None: forever."""
        raw = data.get("validity_days")
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_VALIDITY_DAYS:
            raise self.fail(
                data,
                path,
                "validity_days",
                f"{raw!r} must be a whole number of days from 1 to {MAX_VALIDITY_DAYS}.",
            )
        return raw

    def strings(self, data: _Located, path: str, key: str, *, required: bool = True) -> tuple[str, ...]:
        value = data.get(key, [] if not required else None)
        if not isinstance(value, list) or (required and not value):
            raise self.fail(data, path, key if key in data else None, f"{key} must be a non-empty list.")
        if not all(isinstance(item, str) and item.strip() for item in value):
            raise self.fail(data, path, key, "must list non-empty texts.")
        return tuple(item.strip() for item in value)

    def items(self, data: _Located, path: str, key: str, *, required: bool = True) -> list[_Located]:
        value = data.get(key, [] if not required else None)
        if not isinstance(value, list) or (required and not value):
            raise self.fail(data, path, key if key in data else None, f"{key} must be a non-empty list.")
        prefix = "" if path == "catalog" else f"{path}."
        return [self.mapping(item, f"{prefix}{key}[{i}]", data, key) for i, item in enumerate(value)]

    def required_image(self, data: _Located, path: str) -> CatalogImage:
        image = self.image(data, path)
        if image is None:
            raise self.fail(data, path, None, "image is required.")
        return image

    def image(self, data: _Located, path: str, *, required: bool = True) -> CatalogImage | None:
        name = self.text(data, path, "image", required=required)
        if name is None:
            return None
        if self.folder is None:
            raise self.fail(data, path, "image", "images need the catalog's folder.")
        named = (self.folder / name).resolve()
        if named.suffix not in (".svg", ".png") or self.folder.resolve() not in named.parents:
            raise self.fail(
                data, path, "image", f"{name!r} must be an .svg or .png file inside the catalog's folder."
            )
        # Every image comes as an SVG and a PNG twin with the same stem.
        svg_path, png_path = named.with_suffix(".svg"), named.with_suffix(".png")
        for file in (svg_path, png_path):
            if not file.is_file():
                raise self.fail(data, path, "image", f"the image {file.name} does not exist.")
        svg, png = svg_path.read_bytes(), png_path.read_bytes()
        if not png.startswith(b"\x89PNG\r\n\x1a\n") or b"<svg" not in svg[:4096]:
            raise self.fail(data, path, "image", f"{name!r} and its .png twin must be an SVG and a PNG.")
        return CatalogImage(svg=svg, png=png)


def _rubric(reader: _Reader, data: _Located, path: str) -> tuple[RubricCriterionDef, ...]:
    criteria = []
    seen: set[str] = set()
    items = reader.items(data, path, "rubric")
    if not 1 <= len(items) <= 8:
        raise reader.fail(data, path, "rubric", "must have 1 to 8 criteria.")
    for i, item in enumerate(items):
        where = f"{path}.rubric[{i}]"
        criterion_id = reader.slug(item, where, "id")
        if criterion_id in seen:
            raise reader.fail(item, where, "id", f"{criterion_id!r} is used twice.")
        seen.add(criterion_id)
        levels = []
        level_ids: set[str] = set()
        for j, level in enumerate(reader.items(item, where, "levels")):
            level_id = reader.slug(level, f"{where}.levels[{j}]", "id")
            if level_id in level_ids:
                raise reader.fail(level, f"{where}.levels[{j}]", "id", f"{level_id!r} is used twice.")
            level_ids.add(level_id)
            levels.append(
                RubricLevelDef(
                    id=level_id,
                    name=reader.text(level, f"{where}.levels[{j}]", "name", limit=200) or "",
                    description=reader.text(level, f"{where}.levels[{j}]", "description") or "",
                )
            )
        if len(levels) < 2:
            raise reader.fail(item, where, "levels", "must have at least two levels.")
        required = reader.text(item, where, "required", limit=100) or ""
        if required not in level_ids:
            raise reader.fail(
                item, where, "required", f"{required!r} is not one of the levels {sorted(level_ids)}."
            )
        criteria.append(
            RubricCriterionDef(
                id=criterion_id,
                name=reader.text(item, where, "name", limit=200) or "",
                description=reader.text(item, where, "description") or "",
                required=required,
                levels=tuple(levels),
            )
        )
    return tuple(criteria)


def _microcredential(reader: _Reader, data: _Located, path: str, issuers: set[str]) -> MicrocredentialDef:
    issuer = reader.text(data, path, "issuer", limit=100) or ""
    if issuer not in issuers:
        raise reader.fail(data, path, "issuer", f"{issuer!r} is not an issuer of this catalog.")
    version = reader.text(data, path, "version", required=False, limit=20) or "1"
    if not _VERSION.match(version):
        raise reader.fail(
            data, path, "version", f"{version!r} must be 1-20 letters, digits, '.', '_' or '-'."
        )
    audience = reader.strings(data, path, "audience", required=False) or ("teacher",)
    for value in audience:
        if value not in AUDIENCES:
            raise reader.fail(data, path, "audience", f"{value!r} is not one of {', '.join(AUDIENCES)}.")
    fee = reader.decimal(data, path, "fee", "20.00")
    evidence = []
    for i, item in enumerate(reader.items(data, path, "evidence")):
        where = f"{path}.evidence[{i}]"
        evidence.append(
            (reader.text(item, where, "name", limit=200) or "", reader.text(item, where, "description") or "")
        )
    alignments = []
    for i, item in enumerate(reader.items(data, path, "alignments", required=False)):
        where = f"{path}.alignments[{i}]"
        url = reader.text(item, where, "url", limit=500) or ""
        if not url.startswith(("https://", "http://")):
            raise reader.fail(item, where, "url", f"{url!r} is not an http(s) URL.")
        alignments.append(
            (
                reader.text(item, where, "name", limit=300) or "",
                url,
                reader.text(item, where, "framework", required=False, limit=300),
            )
        )
    image = reader.required_image(data, path)
    return MicrocredentialDef(
        slug=reader.slug(data, path),
        issuer=issuer,
        name=reader.text(data, path, "name", limit=200) or "",
        version=version,
        achievement_type=reader.text(data, path, "achievement_type", required=False, limit=60)
        or "MicroCredential",
        audience=audience,
        credit=reader.decimal(data, path, "credit", "0.5"),
        fee_cents=int(fee * 100),
        validity_days=reader.validity_days(data, path),
        description=reader.text(data, path, "description") or "",
        criteria=reader.text(data, path, "criteria") or "",
        evidence=tuple(evidence),
        reflection_prompts=reader.strings(data, path, "reflection_prompts"),
        rubric=_rubric(reader, data, path),
        alignments=tuple(alignments),
        tags=reader.strings(data, path, "tags", required=False),
        image=image,
    )


def _group(
    reader: _Reader, data: _Located, path: str, key: str, known: set[str], issuers: set[str]
) -> GroupDef:
    issuer = reader.text(data, path, "issuer", limit=100) or ""
    if issuer not in issuers:
        raise reader.fail(data, path, "issuer", f"{issuer!r} is not an issuer of this catalog.")
    members = reader.strings(data, path, key)
    for member in members:
        if member not in known:
            raise reader.fail(data, path, key, f"{member!r} is not defined in this catalog.")
    if len(set(members)) != len(members):
        raise reader.fail(data, path, key, "lists a member twice.")
    image = reader.required_image(data, path)
    return GroupDef(
        slug=reader.slug(data, path),
        issuer=issuer,
        name=reader.text(data, path, "name", limit=200) or "",
        description=reader.text(data, path, "description") or "",
        credit=reader.decimal(data, path, "credit", "0"),
        image=image,
        members=members,
    )


def _linkedin_id(reader: _Reader, data: _Located, path: str) -> str | None:
    """The issuer's LinkedIn organization id (the number in its company page's admin URL), or None."""
    value = reader.text(data, path, "linkedin_organization_id", required=False, limit=20)
    if value is not None and not _LINKEDIN_ID.match(value):
        raise reader.fail(data, path, "linkedin_organization_id", f"{value!r} must be digits only.")
    return value


def parse_catalog(text: str, *, source: str = "catalog", folder: Path | None = None) -> Catalog:
    """Parse and check catalog YAML; CatalogError names the field and line at fault."""
    try:
        document = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise CatalogError(
            f"{source}{line}: not valid YAML ({getattr(exc, 'problem', None) or exc})."
        ) from None
    reader = _Reader(source, folder)
    root = reader.mapping(document, "catalog")
    if root.get("format") != FORMAT:
        raise reader.fail(
            root, "catalog", "format" if "format" in root else None, f"format must be {FORMAT!r}."
        )
    program = reader.mapping(root.get("program"), "program", root, "program")
    issuers = []
    for i, item in enumerate(reader.items(root, "catalog", "issuers")):
        where = f"issuers[{i}]"
        image = reader.image(item, where, required=False)
        issuers.append(
            CatalogIssuer(
                slug=reader.slug(item, where),
                name=reader.text(item, where, "name", limit=200) or "",
                url=reader.text(item, where, "url", required=False, limit=500),
                email=reader.text(item, where, "email", required=False, limit=320),
                description=reader.text(item, where, "description", required=False),
                image_png=image.png if image else None,
                linkedin_organization_id=_linkedin_id(reader, item, where),
            )
        )
    issuer_slugs = {i.slug for i in issuers}
    micro = [
        _microcredential(reader, item, f"microcredentials[{i}]", issuer_slugs)
        for i, item in enumerate(reader.items(root, "catalog", "microcredentials"))
    ]
    micro_slugs = {m.slug for m in micro}
    stacks = [
        _group(reader, item, f"stacks[{i}]", "microcredentials", micro_slugs, issuer_slugs)
        for i, item in enumerate(reader.items(root, "catalog", "stacks", required=False))
    ]
    bundles = [
        _group(reader, item, f"bundles[{i}]", "stacks", {s.slug for s in stacks}, issuer_slugs)
        for i, item in enumerate(reader.items(root, "catalog", "bundles", required=False))
    ]
    for kind, slugs in (
        ("issuers", [e.slug for e in issuers]),
        ("microcredentials", [e.slug for e in micro]),
        ("stacks", [e.slug for e in stacks]),
        ("bundles", [e.slug for e in bundles]),
    ):
        # Name the line and path of the second use, like every other catalog error.
        items = reader.items(root, "catalog", kind, required=False)
        seen: set[str] = set()
        for i, (slug, item) in enumerate(zip(slugs, items, strict=True)):
            if slug in seen:
                raise reader.fail(item, f"{kind}[{i}]", "slug", f"the slug {slug!r} is used twice.")
            seen.add(slug)
    return Catalog(
        program_name=reader.text(program, "program", "name", limit=200) or "",
        issuers=tuple(issuers),
        microcredentials=tuple(micro),
        stacks=tuple(stacks),
        bundles=tuple(bundles),
    )


def load_catalog(path: Path) -> Catalog:
    """Read and check a catalog file; images are read relative to its folder."""
    if not path.is_file():
        raise CatalogError(f"There is no catalog file {path}.")
    if path.stat().st_size > MAX_CATALOG_BYTES:
        raise CatalogError(f"The catalog file {path} is larger than {MAX_CATALOG_BYTES // 1024 // 1024} MiB.")
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError:
        raise CatalogError(f"The catalog file {path} is not UTF-8 text.") from None
    return parse_catalog(text, source=path.name, folder=path.parent)

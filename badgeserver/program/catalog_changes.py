"""Staff-written YAML for catalog changes (a new version's fields, a rubric), read safely.

The text comes from a staff form or a file; it is parsed with a safe loader that also refuses
aliases (a small document must not expand into a huge one) and keys given twice. The fields are
then checked by catalog_admin.publish_version with the catalog's own rules.
"""

from __future__ import annotations

from typing import Any

import yaml

from badgeserver.errors import InputError

MAX_YAML_BYTES = 256 * 1024


class _StrictLoader(yaml.SafeLoader):
    """A safe loader without aliases or repeated keys."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Refuse an alias before it is resolved."""
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed", mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        """Refuse a key given twice in one mapping."""
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue  # the base class refuses a list or mapping as a key
            key = key_node.value
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} appears twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str, what: str) -> Any:
    """Parse staff-written YAML; InputError with the line for anything unusable."""
    if len(text.encode("utf-8")) > MAX_YAML_BYTES:
        raise InputError(f"The {what} is longer than {MAX_YAML_BYTES // 1024} KiB.")
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "unreadable"
        raise InputError(f"The {what} is not valid YAML{where} ({problem}).") from None
    except RecursionError:
        raise InputError(f"The {what} is nested too deeply.") from None


def load_rubric(text: str) -> list[Any]:
    """A rubric in the catalog format: a YAML list of criteria (or a mapping with one key, rubric)."""
    value = load_yaml(text, "rubric")
    if isinstance(value, dict) and set(value) == {"rubric"}:
        value = value["rubric"]
    if not isinstance(value, list) or not value:
        raise InputError(
            "The rubric must be a YAML list of criteria, "
            "each with id, name, description, required and levels."
        )
    return value


def load_changes(text: str, source: str = "changes file") -> dict[str, Any]:
    """A new version's changes: a YAML mapping of the fields that change (see catalog_admin.CHANGEABLE)."""
    value = load_yaml(text, source)
    if not isinstance(value, dict) or not value:
        raise InputError(
            f"The {source} must be a YAML mapping of the fields that change (name, rubric, ...)."
        )
    return {str(key): item for key, item in value.items()}

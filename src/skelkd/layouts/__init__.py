"""Joint layouts as data, their registry, graphs and mappings between them.

>>> from skelkd.layouts import get_layout
>>> get_layout("coco").num_joints
17
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from .builtin import BUILTIN_LAYOUTS
from .layout import PARTS, Layout, LayoutError

__all__ = ["PARTS", "Layout", "LayoutError", "get_layout", "list_layouts", "register_layout",
           "load_layout_file"]

_REGISTRY: dict[str, Layout] = {}
_ALIASES: dict[str, str] = {}


def register_layout(spec: Layout | Mapping, *, overwrite: bool = False) -> Layout:
    """Add a layout (a :class:`Layout` or a dict as :meth:`Layout.from_dict` takes).

    Raises :class:`LayoutError` if the name or an alias is taken, unless ``overwrite``.
    """
    layout = spec if isinstance(spec, Layout) else Layout.from_dict(spec)
    names = (layout.name, *layout.aliases)
    if not overwrite:
        for n in names:
            if n in _ALIASES and _REGISTRY[_ALIASES[n]].to_dict() != layout.to_dict():
                raise LayoutError(f"layout name '{n}' is already registered "
                                  f"(as '{_ALIASES[n]}'); pass overwrite=True to replace it")
    _REGISTRY[layout.name] = layout
    for n in names:
        _ALIASES[n] = layout.name
    return layout


def get_layout(name: str | Layout) -> Layout:
    """The registered layout called ``name`` (or one of its aliases)."""
    if isinstance(name, Layout):
        return name
    key = name.lower().replace("-", "_")
    if key not in _ALIASES:
        raise LayoutError(f"unknown layout '{name}'; known layouts: {', '.join(list_layouts())}")
    return _REGISTRY[_ALIASES[key]]


def list_layouts() -> list[str]:
    """Names of the registered layouts (aliases not included)."""
    return sorted(_REGISTRY)


def load_layout_file(path: str | Path) -> Layout:
    """Read a layout from a YAML (or JSON) file and register it."""

    path = Path(path)
    try:
        spec = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise LayoutError(f"{path}: cannot read layout file: {exc}") from exc
    if not isinstance(spec, Mapping):
        raise LayoutError(f"{path}: expected a mapping with name, joints, bones, center, parts")
    return register_layout(Layout.from_dict(spec, source=str(path)))


for _spec in BUILTIN_LAYOUTS:
    register_layout(_spec)

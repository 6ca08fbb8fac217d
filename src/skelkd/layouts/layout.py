"""A joint layout as data: joint names, bones, centre, left/right pairs and the paper's five parts.

Everything layout-specific in skelkd (graph adjacency, flip permutation, part pooling,
mapping between layouts, drawing) is derived from one :class:`Layout` object.

Naming rule: joint names come from one shared landmark vocabulary (``left_wrist``,
``nose``, ``spine_shoulder``...), so two layouts map onto each other through the names
they share. ``left_`` and ``right_`` are the subject's own sides *as the source labels
them*; the left/right pairs are derived from those prefixes.

Part rule (Section 3.3.1 of the paper groups joints into head, left arm, right arm,
left leg, right leg): the head part holds the joints of the head and face (head, nose,
eyes, ears, mouth, head top); an arm runs from the shoulder to the finger tips; a leg
from the hip to the toes. Torso joints on the body's midline below the head (neck,
spine, shoulder centre, pelvis, belly) belong to no part: they are shared by all five
and would blur the parts' distinction. Every joint is in at most one part and every
part has at least one joint.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..errors import SkelkdError

PARTS: tuple[str, ...] = ("head", "left_arm", "right_arm", "left_leg", "right_leg")
"""The paper's five body parts, in the order used by part features and the part matrix."""


class LayoutError(SkelkdError, ValueError):
    """A layout definition that is inconsistent (unknown joint, disconnected graph...)."""


def _mirror_name(name: str) -> str | None:
    if name.startswith("left_"):
        return "right_" + name[5:]
    if name.startswith("right_"):
        return "left_" + name[6:]
    return None


@dataclass(frozen=True, eq=False)
class Layout:
    """One joint layout. Build it with :meth:`from_dict`; all checks run on creation.

    Attributes:
        name: registry key, for example ``"coco"``.
        joints: joint names in the order the data stores them (V of them).
        bones: undirected (joint, joint) pairs; together they must connect every joint.
        center: the joint the ST-GCN spatial partition measures distances from.
        parts: the five parts of :data:`PARTS`, each a tuple of joint names.
        description: where the layout comes from, in words.
        aliases: other names the registry accepts.
    """

    name: str
    joints: tuple[str, ...]
    bones: tuple[tuple[str, str], ...]
    center: str
    parts: Mapping[str, tuple[str, ...]]
    description: str = ""
    aliases: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        self._validate()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, spec: Mapping, *, source: str = "layout") -> Layout:
        """Build a layout from a dict (as read from YAML or JSON).

        Required keys: ``name``, ``joints`` (list of names), ``bones`` (list of
        [name, name] or [index, index]), ``center`` (name or index), ``parts`` (a map
        from each of the five part names to a list of names or indices).
        """
        missing = [k for k in ("name", "joints", "bones", "center", "parts") if k not in spec]
        if missing:
            raise LayoutError(f"{source}: missing field(s) {missing}; a layout needs name, "
                              "joints, bones, center and parts")
        joints = spec["joints"]
        if not isinstance(joints, Sequence) or isinstance(joints, str) or not all(
            isinstance(j, str) for j in joints
        ):
            raise LayoutError(f"{source}: field 'joints' must be a list of joint names")
        joints = tuple(joints)

        def as_name(ref, fieldname: str) -> str:
            if isinstance(ref, bool):
                raise LayoutError(f"{source}: field '{fieldname}' has {ref!r}, expected a "
                                  "joint name or index")
            if isinstance(ref, int):
                if not 0 <= ref < len(joints):
                    raise LayoutError(f"{source}: field '{fieldname}' has index {ref}, "
                                      f"expected 0..{len(joints) - 1}")
                return joints[ref]
            if isinstance(ref, str):
                return ref
            raise LayoutError(f"{source}: field '{fieldname}' has {ref!r}, expected a joint "
                              "name or index")

        try:
            bones = tuple((as_name(a, "bones"), as_name(b, "bones")) for a, b in spec["bones"])
        except (TypeError, ValueError) as exc:
            if isinstance(exc, LayoutError):
                raise
            raise LayoutError(f"{source}: field 'bones' must be a list of [joint, joint] "
                              "pairs") from exc
        parts_spec = spec["parts"]
        if not isinstance(parts_spec, Mapping):
            raise LayoutError(f"{source}: field 'parts' must map part names to joint lists")
        parts = {p: tuple(as_name(j, f"parts.{p}") for j in js) for p, js in parts_spec.items()}
        aliases = spec.get("aliases", ())
        return cls(
            name=str(spec["name"]),
            joints=joints,
            bones=bones,
            center=as_name(spec["center"], "center"),
            parts=parts,
            description=str(spec.get("description", "")),
            aliases=tuple(aliases),
        )

    def to_dict(self) -> dict:
        """The layout as plain data (the inverse of :meth:`from_dict`); packs embed it."""
        return {
            "name": self.name,
            "joints": list(self.joints),
            "bones": [list(b) for b in self.bones],
            "center": self.center,
            "parts": {p: list(js) for p, js in self.parts.items()},
            "description": self.description,
            "aliases": list(self.aliases),
        }

    # ------------------------------------------------------------------ checks
    def _validate(self) -> None:
        where = f"layout '{self.name}'"
        if len(set(self.joints)) != len(self.joints):
            dup = sorted({j for j in self.joints if self.joints.count(j) > 1})
            raise LayoutError(f"{where}: duplicate joint names {dup}")
        known = set(self.joints)
        for a, b in self.bones:
            for j in (a, b):
                if j not in known:
                    raise LayoutError(f"{where}: bone ({a}, {b}) names unknown joint '{j}'")
            if a == b:
                raise LayoutError(f"{where}: bone ({a}, {b}) joins a joint to itself")
        if self.center not in known:
            raise LayoutError(f"{where}: centre '{self.center}' is not a joint")
        if set(self.parts) != set(PARTS):
            raise LayoutError(f"{where}: parts must be exactly {list(PARTS)}, got "
                              f"{sorted(self.parts)}")
        seen: dict[str, str] = {}
        for p in PARTS:
            if not self.parts[p]:
                raise LayoutError(f"{where}: part '{p}' has no joint")
            for j in self.parts[p]:
                if j not in known:
                    raise LayoutError(f"{where}: part '{p}' names unknown joint '{j}'")
                if j in seen:
                    raise LayoutError(f"{where}: joint '{j}' is in parts '{seen[j]}' and '{p}'")
                seen[j] = p
        for j in self.joints:
            m = _mirror_name(j)
            if m is not None and m not in known:
                raise LayoutError(f"{where}: joint '{j}' has no mirror joint '{m}'")
        for p, q in (("left_arm", "right_arm"), ("left_leg", "right_leg")):
            mirrored = {_mirror_name(j) for j in self.parts[p]}
            if mirrored != set(self.parts[q]):
                raise LayoutError(f"{where}: parts '{p}' and '{q}' are not mirror images")
        # connectivity
        unreached = set(self.joints) - self._reachable(self.center)
        if unreached:
            raise LayoutError(f"{where}: bones do not connect {sorted(unreached)} to the rest")

    def _reachable(self, start: str) -> set[str]:
        nbrs: dict[str, list[str]] = {j: [] for j in self.joints}
        for a, b in self.bones:
            nbrs[a].append(b)
            nbrs[b].append(a)
        seen, todo = {start}, deque([start])
        while todo:
            for n in nbrs[todo.popleft()]:
                if n not in seen:
                    seen.add(n)
                    todo.append(n)
        return seen

    # ------------------------------------------------------------------ derived data
    @property
    def num_joints(self) -> int:
        return len(self.joints)

    def index(self, joint: str) -> int:
        """Index of a joint name; ``KeyError`` naming the layout when absent."""
        try:
            return self._index[joint]
        except KeyError:
            raise KeyError(f"layout '{self.name}' has no joint '{joint}'") from None

    @cached_property
    def _index(self) -> dict[str, int]:
        return {j: i for i, j in enumerate(self.joints)}

    def has(self, joint: str) -> bool:
        return joint in self._index

    @cached_property
    def edges(self) -> np.ndarray:
        """(E, 2) int array of bone endpoints as indices."""
        return np.array([(self.index(a), self.index(b)) for a, b in self.bones], dtype=np.int64)

    @cached_property
    def center_index(self) -> int:
        return self.index(self.center)

    @cached_property
    def parents(self) -> np.ndarray:
        """(V,) int array: each joint's neighbour one bone closer to the centre (the first
        found, breadth first from the centre), the centre its own; what a bone vector
        ``x[j] - x[parents[j]]`` is measured from."""
        nbrs: dict[int, list[int]] = {i: [] for i in range(self.num_joints)}
        for a, b in self.edges:
            nbrs[int(a)].append(int(b))
            nbrs[int(b)].append(int(a))
        parent = np.full(self.num_joints, -1, dtype=np.int64)
        parent[self.center_index] = self.center_index
        todo = deque([self.center_index])
        while todo:
            i = todo.popleft()
            for j in nbrs[i]:
                if parent[j] < 0:
                    parent[j] = i
                    todo.append(j)
        return parent

    @cached_property
    def flip_pairs(self) -> tuple[tuple[int, int], ...]:
        """(left, right) index pairs, derived from the ``left_``/``right_`` names."""
        return tuple(
            (i, self.index("right_" + j[5:])) for i, j in enumerate(self.joints)
            if j.startswith("left_")
        )

    @cached_property
    def flip_index(self) -> np.ndarray:
        """Permutation swapping every left joint with its right twin: ``x[..., flip_index, :]``."""
        perm = np.arange(self.num_joints)
        for i, j in self.flip_pairs:
            perm[i], perm[j] = j, i
        return perm

    @cached_property
    def mirror_bones(self) -> tuple[tuple[tuple[int, int], tuple[int, int]], ...]:
        """Each bone on the left side with its right twin, as joint-index pairs: the
        bones whose joints are all left (or a left joint and a midline one) and whose
        mirror image is also a bone."""
        perm = self.flip_index
        bones = {frozenset((self.index(a), self.index(b))) for a, b in self.bones}
        out = []
        for a, b in self.bones:
            i, j = self.index(a), self.index(b)
            twin = (int(perm[i]), int(perm[j]))
            if (a.startswith("left_") or b.startswith("left_")) and \
                    frozenset(twin) in bones and twin != (i, j):
                out.append(((i, j), twin))
        return tuple(out)

    @cached_property
    def part_indices(self) -> tuple[tuple[int, ...], ...]:
        """Joint indices of each part, in :data:`PARTS` order."""
        return tuple(tuple(self.index(j) for j in self.parts[p]) for p in PARTS)

    @cached_property
    def part_of(self) -> np.ndarray:
        """(V,) part number of each joint in :data:`PARTS` order, -1 for torso joints."""
        out = np.full(self.num_joints, -1, dtype=np.int64)
        for p, idx in enumerate(self.part_indices):
            out[list(idx)] = p
        return out

    def part_matrix(self) -> np.ndarray:
        """(5, V) float32 averaging matrix: ``parts = P @ joints`` gives each part's mean joint."""
        mat = np.zeros((len(PARTS), self.num_joints), dtype=np.float32)
        for p, idx in enumerate(self.part_indices):
            mat[p, list(idx)] = 1.0 / len(idx)
        return mat

    def side_of(self, joint: str) -> str:
        """``"left"``, ``"right"`` or ``"mid"`` (used for colours when drawing)."""
        if joint.startswith("left_"):
            return "left"
        if joint.startswith("right_"):
            return "right"
        return "mid"

    def __repr__(self) -> str:
        return f"Layout({self.name!r}, {self.num_joints} joints)"

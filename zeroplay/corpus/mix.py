"""What a training stream is made of: weights per family and API, and a share of edge cases.

    mix = Mix(families={"strings": 5, "dates": 0}, apis={"re": 3}, edge_share=0.5)
    mix.weight(OPS_BY_NAME["upper"])   # 5.0: the family's weight times the API's
    mix.skipped_inputs()               # input types no operation of the mix can start from

An operation weighs its family's weight times its API's (a name not given weighs 1, 0
excludes). The synthesizer draws a task's input type in proportion to the mean weight of
the operations that start from it (so the uniform mix keeps every type equally likely) and
each operation in proportion to its weight among the type-compatible ones. With
`edge_share` set, that share of tasks starts with an operation that carries an edge case and
the others carry none; unset, edge cases come as often as the catalogue has them. The
uniform mix draws exactly as the synthesizer always has (the same tasks for the same seed).
Shares are targets in expectation: a small draw, or validation in the sandbox, moves them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from zeroplay.corpus.catalogue import APIS, FAMILIES, INPUTS, OPS_FROM, Op


@dataclass(frozen=True)
class Mix:
    families: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    apis: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    edge_share: float | None = None

    def __post_init__(self):
        for kind, names, known in (("family", self.families, FAMILIES),
                                   ("API", self.apis, APIS)):
            unknown = sorted(set(names) - set(known))
            if unknown:
                raise ValueError(f"unknown {kind} {', '.join(map(repr, unknown))} in the mix; "
                                 f"known: {', '.join(known)}")
            negative = [name for name, w in names.items() if w < 0]
            if negative:
                raise ValueError(f"{kind} weights must be >= 0 (0 excludes): {negative}")
        if self.edge_share is not None and not 0 <= self.edge_share <= 1:
            raise ValueError(f"edge_share must be within [0, 1], not {self.edge_share}")
        if not any(self.input_weight(src) for src in INPUTS):
            raise ValueError("the mix excludes every operation; give some family and API a "
                             "weight above 0")

    @property
    def weighted(self) -> bool:
        """Whether any operation weighs other than 1."""
        return any(w != 1 for w in (*self.families.values(), *self.apis.values()))

    @property
    def uniform(self) -> bool:
        return not self.weighted and self.edge_share is None

    def weight(self, op: Op) -> float:
        return float(self.families.get(op.family, 1)) * float(self.apis.get(op.api, 1))

    def input_weight(self, src: str) -> float:
        ops = OPS_FROM.get(src, [])
        return sum(map(self.weight, ops)) / len(ops) if ops else 0.0

    def skipped_inputs(self) -> list[str]:
        """Input types no operation of this mix starts from: the synthesizer skips them."""
        return [src for src in INPUTS if not self.input_weight(src)]

    def as_dict(self) -> dict:
        return {"families": dict(self.families), "apis": dict(self.apis),
                "edge_share": self.edge_share}


UNIFORM = Mix()

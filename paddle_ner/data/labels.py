"""The label vocabulary: BIO tags <-> integer ids, in an order fixed by the entity types alone.

Order: ``O`` first (id 0), then for each entity type in sorted order ``B-T``, ``I-T``. For MSRA
that is ``O B-LOC I-LOC B-ORG I-ORG B-PER I-PER``. Because the order depends only on the set of
types -- not on which tag was seen first or how often -- the same data always gives the same ids,
and the vocabulary saved with a model (``save``/``load``, JSON) is all a predictor needs.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, List, Sequence, Union

__all__ = ["LabelVocab"]

_FORMAT_VERSION = 1


class LabelVocab:
    """BIO label vocabulary for a set of entity types."""

    def __init__(self, types: Iterable[str]):
        types = sorted(set(types))
        for t in types:
            if not t or t != t.strip() or t == "O":
                raise ValueError(f"bad entity type {t!r}")
        self._types: List[str] = types
        self._labels: List[str] = ["O"] + [f"{p}-{t}" for t in types for p in ("B", "I")]
        self._index = {label: i for i, label in enumerate(self._labels)}

    @classmethod
    def from_types(cls, types: Iterable[str]) -> "LabelVocab":
        return cls(types)

    @classmethod
    def from_corpora(cls, *corpora) -> "LabelVocab":
        """The types found in the tags of the given corpora (``Corpus`` objects)."""
        types = set()
        for corpus in corpora:
            types.update(corpus.types())
        return cls(types)

    @property
    def labels(self) -> List[str]:
        return list(self._labels)

    @property
    def types(self) -> List[str]:
        return list(self._types)

    @property
    def outside_id(self) -> int:
        """Id of ``O`` (always 0)."""
        return 0

    def __len__(self) -> int:
        return len(self._labels)

    def __contains__(self, label: str) -> bool:
        return label in self._index

    def __eq__(self, other) -> bool:
        return isinstance(other, LabelVocab) and other._labels == self._labels

    def __repr__(self) -> str:
        return f"LabelVocab({self._labels})"

    def encode(self, tags: Sequence[str]) -> List[int]:
        """BIO tags -> ids. A tag outside the vocabulary raises ValueError naming it."""
        index = self._index
        try:
            return [index[t] for t in tags]
        except KeyError as err:
            raise ValueError(f"tag {err.args[0]!r} is not in the label vocabulary "
                             f"({' '.join(self._labels)}); was the model trained on these entity types?") from None

    def decode(self, ids: Iterable[int]) -> List[str]:
        """Ids -> BIO tags. An id out of range raises ValueError."""
        labels = self._labels
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(labels):
                raise ValueError(f"label id {i} is out of range for a vocabulary of {len(labels)} labels")
            out.append(labels[i])
        return out

    def to_dict(self) -> dict:
        return {"version": _FORMAT_VERSION, "scheme": "BIO", "types": self.types, "labels": self.labels}

    def save(self, path: Union[str, Path]) -> None:
        from paddle_ner.integrity import write_text

        write_text(path, json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n")

    @classmethod
    def load(cls, path: Union[str, Path]) -> "LabelVocab":
        """Load a saved vocabulary; ValueError if the file is not one or was edited inconsistently."""
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if not isinstance(data, dict) or "types" not in data or "labels" not in data:
            raise ValueError(f"{path}: not a label vocabulary (expected keys 'types' and 'labels')")
        vocab = cls(data["types"])
        if data["labels"] != vocab.labels:
            raise ValueError(f"{path}: labels {data['labels']} do not match the fixed order for types "
                             f"{vocab.types}: {vocab.labels}")
        return vocab

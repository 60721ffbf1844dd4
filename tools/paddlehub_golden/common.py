# Python 3.8, run INSIDE the PaddleHub 1.5.4 side environment (see setup_env.sh).
"""Helpers shared by the golden-fixture recorders: provenance, citations of the installed
PaddleHub/Paddle source (file:line@version, found by searching the installed file for a line),
float32 -> JSON conversion, compact JSON writing, the label list, and a local TSV dataset built
on PaddleHub 1.x's BaseNLPDataset."""
import io
import json
import os
import platform
import shlex
import sys

os.environ.setdefault("CPU_NUM", "1")  # fluid.cpu_places() count; 1 is also Paddle 1.8's default

import numpy as np  # noqa: E402
import paddle  # noqa: E402
import paddlehub  # noqa: E402
import paddlehub.version  # noqa: E402
from paddlehub.dataset.base_nlp_dataset import BaseNLPDataset  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
GOLDEN = os.path.join(REPO, "tests", "golden")
PH_VERSION = paddlehub.version.hub_version
PADDLE_VERSION = paddle.__version__
PH_ROOT = os.path.dirname(os.path.abspath(paddlehub.__file__))
PADDLE_ROOT = os.path.dirname(os.path.abspath(paddle.__file__))

# PaddleHub's MSRA_NER label order (paddlehub/dataset/msra_ner.py). SequenceLabelReader gives
# [CLS]/[SEP]/padding the id len(label_map)-1, and chunk_eval (IOB) reads id = 2*type + (0 for
# B, 1 for I) with O = 2*num_chunk_types, so "O" must be last and B/I pairs must alternate.
LABELS = ["B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "O"]


def cite(rel, needle, package="paddlehub", nth=1):
    """'<package>/<rel>:<line>@v<version>' for the nth line of the installed file containing needle
    (package 'paddlehub', or a folder of paddle such as 'paddle/fluid')."""
    version = PH_VERSION if package == "paddlehub" else PADDLE_VERSION  # else a paddle/... folder
    path = os.path.join(os.path.dirname(PH_ROOT if package == "paddlehub" else PADDLE_ROOT), package, rel)
    seen = 0
    with io.open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if needle in line:
                seen += 1
                if seen == nth:
                    return "%s/%s:%d@v%s" % (package, rel, number, version)
    raise LookupError("%r not found in %s" % (needle, path))


def provenance(script, cites, extra=None):
    out = {
        "recorded_with": {
            "paddlehub": PH_VERSION,
            "paddlepaddle": PADDLE_VERSION,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "command": "tools/paddlehub_golden/setup_env.sh /tmp/ph15 && /tmp/ph15/bin/python "
        + " ".join(shlex.quote(a) for a in ["tools/paddlehub_golden/" + os.path.basename(script)] + sys.argv[1:]),
        "paddlehub_code": cites,
    }
    if extra:
        out.update(extra)
    return out


def f32(a):
    """float32 array -> nested lists of Python floats, each the shortest decimal that reads back
    as the same float32 (so json -> np.float32 round-trips bit-exactly)."""
    a = np.asarray(a, dtype=np.float32)
    if a.ndim == 0:
        return float(str(a))  # numpy >= 1.14 prints the shortest round-trip repr
    return [f32(x) for x in a]


def ints(a):
    return np.asarray(a).astype(np.int64).tolist()


def dumps(obj, indent=0):
    """JSON with one key per line, and every list of scalars on a single line."""
    pad, pad1 = " " * indent, " " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [pad1 + json.dumps(str(k), ensure_ascii=False) + ": " + dumps(v, indent + 1) for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, (list, tuple)):
        if all(not isinstance(x, (dict, list, tuple)) for x in obj):
            return "[" + ", ".join(json.dumps(x, ensure_ascii=False, allow_nan=False) for x in obj) + "]"
        return "[\n" + ",\n".join(pad1 + dumps(x, indent + 1) for x in obj) + "\n" + pad + "]"
    return json.dumps(obj, ensure_ascii=False, allow_nan=False)


def write_json(name, obj):
    os.makedirs(GOLDEN, exist_ok=True)
    path = os.path.join(GOLDEN, name)
    text = dumps(obj) + "\n"
    assert json.loads(text) == json.loads(json.dumps(obj, ensure_ascii=False)), "compact writer changed data"
    with io.open(path, "w", encoding="utf-8") as f:
        f.write(text)
    size = os.path.getsize(path)
    print("wrote %s (%d bytes)" % (os.path.relpath(path, REPO), size))
    assert size < 200 * 1024, "fixture too large"
    return path


def write_tsv(path, rows, header=True):
    """rows: (chars, tags) pairs; writes text_a<TAB>label with \\x02-joined columns, as the ERNIE
    MSRA split that PaddleHub downloads (header line 'text_a<TAB>label')."""
    with io.open(path, "w", encoding="utf-8") as f:
        if header:
            f.write(u"text_a\tlabel\n")
        for chars, tags in rows:
            assert len(chars) == len(tags)
            f.write(u"\x02".join(chars) + u"\t" + u"\x02".join(tags) + u"\n")


class LocalNER(BaseNLPDataset):
    """PaddleHub 1.x's base NLP dataset over local TSVs (what a user-defined dataset looked like).
    Its reader (BaseNLPDataset._read_file) gives guid = line number in the file, so with the
    header line the first example has guid 1."""

    def __init__(self, base_path, train="train.tsv", dev="dev.tsv", test=None, labels=LABELS):
        super(LocalNER, self).__init__(
            base_path=base_path,
            train_file=train,
            dev_file=dev,
            test_file=test,
            label_list=list(labels),
            train_file_with_header=True,
            dev_file_with_header=True,
            test_file_with_header=True,
        )


def write_vocab(path, tokens):
    with io.open(path, "w", encoding="utf-8") as f:
        for t in tokens:
            f.write(t + u"\n")


def paddle18_clone_shim():
    """PaddleHub 1.5.4 + Paddle 1.8.5 incompatibility: BaseTask.__init__ -> clone_program ->
    get_variable_info reads `var.gradient_clip_attr` of every Parameter
    (paddlehub/common/paddle_helper.py:65@v1.5.4), an attribute Paddle 1.8 no longer sets in
    Parameter.__init__ (it only exists after fluid.clip.set_gradient_clip, and Paddle 1.8 itself reads
    it as getattr(p, 'gradient_clip_attr', None), paddle/fluid/clip.py:821@v1.8.5). PaddleHub fixed
    this in v1.8.0 by not copying the attribute on Paddle >= 1.8. This shim gives Parameter a
    class-level default of None, which is exactly what Paddle 1.8 assumes when it is missing; the
    clip that AdamWeightDecayStrategy sets later with set_gradient_clip still overrides it per
    parameter. Nothing else is patched."""
    import paddle.fluid as fluid
    if not hasattr(fluid.framework.Parameter, "gradient_clip_attr"):
        fluid.framework.Parameter.gradient_clip_attr = None
    return ("fluid.framework.Parameter.gradient_clip_attr = None (class default), see "
            "tools/paddlehub_golden/common.py paddle18_clone_shim: PaddleHub 1.5.4's clone_program reads "
            "var.gradient_clip_attr (" + cite("common/paddle_helper.py", "var_info['gradient_clip_attr'] = var.gradient_clip_attr")
            + "), which Paddle 1.8.5 Parameters lack; Paddle itself reads it with getattr(..., None) ("
            + cite("clip.py", "clip_attr = getattr(p, 'gradient_clip_attr', None)", package="paddle/fluid") + ")")


def zero_side_inputs(feature, position_ids, segment_ids, input_mask, max_seq_len):
    """feature + pos_emb(position_ids) + seg_emb(segment_ids), times input_mask, where both tables
    are constant zeros and not trainable: numerically `feature` at every real token. It makes the
    program use all four inputs that SequenceLabelReader feeds (as an ERNIE module does); otherwise
    save_inference_model (best_model) fails with 'var position_ids not in this block' when the
    data feeder is used (use_pyreader=False)."""
    import paddle.fluid as fluid
    dim = feature.shape[-1]
    zeros = fluid.initializer.Constant(0.0)
    pos = fluid.layers.embedding(input=position_ids, size=[max_seq_len, dim],
                                 param_attr=fluid.ParamAttr(name="zero_pos_embedding", initializer=zeros, trainable=False))
    seg = fluid.layers.embedding(input=segment_ids, size=[2, dim],
                                 param_attr=fluid.ParamAttr(name="zero_sent_embedding", initializer=zeros, trainable=False))
    return fluid.layers.elementwise_mul(feature + pos + seg, input_mask, axis=0)

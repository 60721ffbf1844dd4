"""Named datasets and their train/dev/test splits: where the files come from, and the carved dev set.

Named datasets (``DATASETS``):

- ``msra``: MSRA-2006 in the ERNIE 1.0 / PaddleHub split, the split the paper used (train 20864 /
  dev 2318 / test 4636 sentences; ``ernie_tsv``). Download:
  https://bj.bcebos.com/paddlehub-dataset/msra_ner.tar.gz (PaddleHub publishes no archive md5; the
  extracted train/dev/test.tsv are checked against the md5s PaddleNLP's first ``MSRA_NER`` used).
- ``msra_sighan``: MSRA-2006 in the SIGHAN-2006 bakeoff split (train 45000 / test 3442, no dev),
  which most papers and PaddleNLP's ``msra_ner`` use. Download: PaddleNLP's
  https://bj.bcebos.com/paddlenlp/datasets/msra_ner.tar.gz (archive md5 checked). Its train.tsv
  DROPS the 57 characters ``0`` whose tag is empty in the original train file (2,171,516 chars
  instead of 2,171,573); with ``--data-dir`` pointing at the original ``train.txt``/``test.txt``
  they are kept and read as ``O``. ``info`` says which one was read (``known_as``, ``notes``).
- ``weibo``: Weibo NER, revised 2nd annotation (He & Sun 2016), BIO with ``.NAM``/``.NOM`` types.
  Download: hltcoe/golden-horse ``weiboNER_2nd_conll.{train,dev,test}`` (sha256 checked). Those
  upstream files append the character's jieba word position to each token (``她0``); the
  ``weibo_position`` token fix strips it, and leaves already-stripped copies unchanged.
- ``resume``: Resume NER (Zhang & Yang 2018), BMES, read as BIO. Download: jiesutd/LatticeLSTM
  ``ResumeNER/{train,dev,test}.char.bmes`` (sha256 checked).
- ``sample``: ``data/sample`` in this repository, a small corpus written for this project.

Where the files come from, in order:

1. ``data_dir``: a directory holding the split files under one of the names the dataset lists
   (e.g. SIGHAN: ``train.txt`` or PaddleNLP's ``train.tsv``). Nothing is downloaded or verified;
   ``info`` records the digests and, when they match a known file, what it is.
2. ``sample``: the repository's ``data/sample``.
3. The cache, ``cache_dir`` or ``$PADDLE_NER_CACHE`` or ``~/.cache/paddle_ner``, in a directory
   per dataset. Missing files are downloaded (``download=True``) to a temporary file, verified
   and renamed into place; files in the cache are verified against the known checksums on every
   load. Without network the error names the URL and how to use ``--data-dir`` instead.

Custom files: a ``train`` path replaces the named dataset entirely (``dev``/``test`` are then
the given files, or a carved dev and no test). ``dev``/``test`` paths without ``train`` replace
just those splits of the named dataset.

Carved dev set. When a dataset has no dev file (``msra_sighan``, or custom data without
``dev``), the dev set is carved from train, deterministically:

- size: 3000 sentences for ``msra_sighan`` (the size lemonhu/NER-BERT-pytorch used, leaving 42000
  to train); for custom data 10% of train (rounded down), at most 3000;
- selection: sentence indices ``i`` (0-based, file order) sorted by
  ``sha1(f"{DEV_SEED}:{i}")`` (hex digest), the first ``size`` indices form dev, the rest train;
  both keep file order. ``DEV_SEED = 2006``. Only the index and the seed matter, so PaddleNLP's
  train.tsv and the original train.txt (both 45000 sentences) give the same dev sentences.
  Python's ``random`` is not used because its algorithms may change between versions.

``info`` records all of this: each split's path, format, scheme, md5/sha256, origin, counts and
repairs, how dev was made, and notes.
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterator, Optional, Sequence, Tuple, Union

from paddle_ner.data.readers import Corpus, read_corpus
from paddle_ner.errors import DataError, UsageError

__all__ = [
    "DATASETS",
    "DEV_SEED",
    "SPLITS",
    "DatasetSpec",
    "Remote",
    "Splits",
    "carve_dev",
    "default_cache_dir",
    "fetch_url",
    "load_splits",
    "sample_dir",
    "weibo_token",
]

logger = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")
DEV_SEED = 2006
CUSTOM_DEV_FRACTION = 0.1
CUSTOM_DEV_MAX = 3000
PathLike = Union[str, Path]


@dataclass(frozen=True)
class Remote:
    """A file to download, with the checksums known for it."""

    url: str
    md5: Optional[str] = None
    sha256: Optional[str] = None

    @property
    def name(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class DatasetSpec:
    """How to find one named dataset's split files.

    ``files``: split -> candidate file names, the first that exists wins. A split absent from
    ``files`` has no file (dev is then carved: ``dev_size``). ``archive`` holds every split;
    ``member_md5`` are the md5s of files inside it. ``remote``: split -> per-file download.
    """

    description: str
    files: Dict[str, Tuple[str, ...]]
    archive: Optional[Remote] = None
    member_md5: Dict[str, str] = field(default_factory=dict)
    remote: Dict[str, Remote] = field(default_factory=dict)
    dev_size: Optional[int] = None
    token_fix: Optional[str] = None
    in_repo: bool = False
    notes: Tuple[str, ...] = ()


_GOLDEN_HORSE = "https://raw.githubusercontent.com/hltcoe/golden-horse/master/data/"
_LATTICE = "https://raw.githubusercontent.com/jiesutd/LatticeLSTM/master/ResumeNER/"

DATASETS: Dict[str, DatasetSpec] = {
    "msra": DatasetSpec(
        description="MSRA-2006, ERNIE 1.0 / PaddleHub split (the paper's): train 20864 / dev 2318 / test 4636",
        files={"train": ("train.tsv",), "dev": ("dev.tsv",), "test": ("test.tsv",)},
        archive=Remote("https://bj.bcebos.com/paddlehub-dataset/msra_ner.tar.gz"),
        member_md5={
            "train.tsv": "67d3c93a37daba60ef43c03271f119d7",
            "dev.tsv": "ec772f3ba914bca5269f6e785bb3375d",
            "test.tsv": "2f27ae68b5f61d6553ffa28bb577c8a7",
        },
    ),
    "msra_sighan": DatasetSpec(
        description="MSRA-2006, SIGHAN-2006 bakeoff split: train 45000 / test 3442, dev carved from train",
        files={
            "train": ("train.txt", "msra_train_bio", "msra_train_bio.txt", "train.tsv"),
            "test": ("test.txt", "msra_test_bio", "msra_test_bio.txt", "test.tsv"),
        },
        archive=Remote("https://bj.bcebos.com/paddlenlp/datasets/msra_ner.tar.gz",
                       md5="f1aadbbf328ea2fa50c9c2b56db0d31e"),
        member_md5={
            "train.tsv": "e5b4b734ef91861384f441456ad995dd",
            "test.tsv": "40b26ae09b63af78ea3a91ac8b8ae303",
        },
        dev_size=3000,
    ),
    "weibo": DatasetSpec(
        description="Weibo NER, revised 2nd version (PER/LOC/GPE/ORG x NAM/NOM): train 1350 / dev 270 / test 270",
        files={
            "train": ("train.txt", "weiboNER_2nd_conll.train"),
            "dev": ("dev.txt", "weiboNER_2nd_conll.dev"),
            "test": ("test.txt", "weiboNER_2nd_conll.test"),
        },
        remote={
            "train": Remote(_GOLDEN_HORSE + "weiboNER_2nd_conll.train",
                            sha256="4e8954c54ab33b0afc9a8abb85715c47422645cc6d1b49fdb24540f4a427e997"),
            "dev": Remote(_GOLDEN_HORSE + "weiboNER_2nd_conll.dev",
                          sha256="e72730d83aac680505280b6301c879b3ba470d29ac308979d48cdc58ee4907cc"),
            "test": Remote(_GOLDEN_HORSE + "weiboNER_2nd_conll.test",
                           sha256="faaf6c0ebde5348b935cfd5c89f0f22c9e0779d60667d8b5efbc647b6707d50e"),
        },
        token_fix="weibo_position",
    ),
    "resume": DatasetSpec(
        description="Resume NER (BMES, 8 types): train 3821 / dev 463 / test 477",
        files={
            "train": ("train.txt", "train.char.bmes"),
            "dev": ("dev.txt", "dev.char.bmes"),
            "test": ("test.txt", "test.char.bmes"),
        },
        remote={
            "train": Remote(_LATTICE + "train.char.bmes",
                            sha256="93b9bb0be5dd4730121587f9dc1378de3fbbe55cba1c575edec271f822c27be7"),
            "dev": Remote(_LATTICE + "dev.char.bmes",
                          sha256="1b0d67153e6e8543e9444936ed1b107bd843078c282533898085e1a9aa293952"),
            "test": Remote(_LATTICE + "test.char.bmes",
                           sha256="c4a9f42622819a4b59f66e184d446ebfa89b2f1dbba06e11d70675e59fe7e79b"),
        },
    ),
    "sample": DatasetSpec(
        description="data/sample: a small PER/LOC/ORG corpus written for this project (BIO)",
        files={"train": ("train.txt",), "dev": ("dev.txt",), "test": ("test.txt",)},
        in_repo=True,
    ),
}

# Files whose digests are known (the data's published checksums, PaddleNLP/PaddleHub loaders), so that
# `info` can say what was read. Keys are (algorithm, hex digest).
KNOWN_FILES: Dict[Tuple[str, str], str] = {
    ("sha256", "b403d1318c5289917ad2ca4136279592521684748327e93f1bf49a3845a40ac7"):
        "SIGHAN-2006 MSRA train, original msra_train_bio (57 empty-tag '0' chars kept, read as O)",
    ("sha256", "2be8e580bcb22e9086e4403d82a7ec0f6e18019ebef35b0fd52941724bdf89a3"):
        "SIGHAN-2006 MSRA test, original msra_test_bio",
    ("md5", "e5b4b734ef91861384f441456ad995dd"):
        "PaddleNLP msra_ner train.tsv: SIGHAN-2006 train with the 57 empty-tag '0' chars dropped",
    ("md5", "40b26ae09b63af78ea3a91ac8b8ae303"): "PaddleNLP msra_ner test.tsv: SIGHAN-2006 test",
    ("md5", "67d3c93a37daba60ef43c03271f119d7"): "ERNIE / PaddleHub MSRA_NER train.tsv",
    ("md5", "ec772f3ba914bca5269f6e785bb3375d"): "ERNIE / PaddleHub MSRA_NER dev.tsv",
    ("md5", "2f27ae68b5f61d6553ffa28bb577c8a7"): "ERNIE / PaddleHub MSRA_NER test.tsv",
    ("sha256", "4e8954c54ab33b0afc9a8abb85715c47422645cc6d1b49fdb24540f4a427e997"):
        "Weibo NER 2nd train, upstream (with jieba position digits)",
    ("sha256", "e72730d83aac680505280b6301c879b3ba470d29ac308979d48cdc58ee4907cc"):
        "Weibo NER 2nd dev, upstream (with jieba position digits)",
    ("sha256", "faaf6c0ebde5348b935cfd5c89f0f22c9e0779d60667d8b5efbc647b6707d50e"):
        "Weibo NER 2nd test, upstream (with jieba position digits)",
    ("sha256", "5f346eb6f29db225f620d5dcd562d0bc4755137722bf4af1b134c0d50a72a7f2"):
        "Weibo NER 2nd train, position digits stripped",
    ("sha256", "a94f244be155c8f7200170ff17981061631ca5013130a4d2081280052faea511"):
        "Weibo NER 2nd dev, position digits stripped",
    ("sha256", "30f5081d6a66b8d56628bc1ecbc98da554935ed1ca2fbe38515debc641afd591"):
        "Weibo NER 2nd test, position digits stripped",
    ("sha256", "93b9bb0be5dd4730121587f9dc1378de3fbbe55cba1c575edec271f822c27be7"): "Resume NER train.char.bmes, upstream",
    ("sha256", "1b0d67153e6e8543e9444936ed1b107bd843078c282533898085e1a9aa293952"): "Resume NER dev.char.bmes, upstream",
    ("sha256", "c4a9f42622819a4b59f66e184d446ebfa89b2f1dbba06e11d70675e59fe7e79b"): "Resume NER test.char.bmes, upstream",
    ("sha256", "8211dabfa7ee59fe1145a1f3470b0b4151ecbcbd873568b0f75a6ffc36a0c4fc"): "Resume NER train, TAB-separated copy",
    ("sha256", "b8ab5f6346044815118f9077e85071337510c1a2d1130fc94f51ef928d3a67ac"): "Resume NER dev, TAB-separated copy",
    ("sha256", "625ece0381e5103916407bc7a687a8e61f602434c514660199b1db2f2f661472"): "Resume NER test, TAB-separated copy",
}
_PADDLENLP_SIGHAN_TRAIN_MD5 = "e5b4b734ef91861384f441456ad995dd"


def weibo_token(token: str) -> str:
    """The character of an upstream Weibo token: ``'她0' -> '她'``, ``'80' -> '8'``, ``'她' -> '她'``.

    Upstream appends the character's position in its jieba word (ASCII digits). The character is
    the first code point, except the mangled pair U+FFFD U+FFFD, which is one token.
    """
    head = 2 if token.startswith("\ufffd\ufffd") else 1
    char, rest = token[:head], token[head:]
    if rest and not (rest.isascii() and rest.isdigit()):
        raise ValueError(f"Weibo token {token!r}: expected one character, optionally followed by "
                         f"its jieba position digits")
    return char


TOKEN_FIXES: Dict[str, Callable[[str], str]] = {"weibo_position": weibo_token}


@dataclass
class Splits:
    """The corpora of one experiment. A split not requested (``splits=``) is None; ``test`` is
    None for custom data without a test file. ``info`` says where each came from (module doc)."""

    train: Optional[Corpus]
    dev: Optional[Corpus]
    test: Optional[Corpus]
    info: dict

    def corpora(self) -> Iterator[Tuple[str, Corpus]]:
        """``(split name, corpus)`` for every split that is present."""
        for name in SPLITS:
            corpus = getattr(self, name)
            if corpus is not None:
                yield name, corpus


# ---------------------------------------------------------------------------------------------
# Paths: repo sample, cache


def sample_dir() -> Path:
    """``data/sample`` of the repository this package sits in."""
    return Path(__file__).resolve().parents[2] / "data" / "sample"


def default_cache_dir() -> Path:
    env = os.environ.get("PADDLE_NER_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "paddle_ner"


# ---------------------------------------------------------------------------------------------
# Digests and downloads


def file_digests(path: PathLike) -> Dict[str, str]:
    md5, sha = hashlib.md5(), hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            md5.update(chunk)
            sha.update(chunk)
    return {"md5": md5.hexdigest(), "sha256": sha.hexdigest()}


def _known_as(digests: Dict[str, str]) -> Optional[str]:
    for algo, value in digests.items():
        if (algo, value) in KNOWN_FILES:
            return KNOWN_FILES[(algo, value)]
    return None


def _verify(path: Path, digests: Dict[str, str], expected: Dict[str, Optional[str]], hint: str) -> None:
    for algo, want in expected.items():
        if want and digests[algo] != want:
            raise DataError(path, None, f"checksum mismatch: expected {algo} {want}, got {digests[algo]}. {hint}")


def fetch_url(url: str, dest: Path, timeout: float = 60.0) -> None:
    """Download ``url`` to ``dest`` (through a temporary file, renamed when complete), with a
    progress bar on a terminal. Raises DataError (naming the URL and reason) when it fails."""
    from tqdm import tqdm  # imported here: only downloads need it

    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                total = resp.headers.get("Content-Length")
                with tqdm(total=int(total) if total else None, unit="B", unit_scale=True,
                          desc=dest.name, disable=None) as bar:
                    for chunk in iter(lambda: resp.read(1 << 20), b""):
                        out.write(chunk)
                        bar.update(len(chunk))
        os.replace(tmp, dest)
    except (urllib.error.URLError, OSError, ValueError) as err:
        os.unlink(tmp)
        reason = getattr(err, "reason", None) or err
        raise DataError(dest, None, f"cannot download {url} ({reason})") from None
    except BaseException:
        os.unlink(tmp)
        raise


def _extract_tar(archive: Path, dest: Path) -> None:
    """Extract the regular files of ``archive`` under ``dest``, refusing paths that escape it."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                parts = Path(member.name).parts
                if member.name.startswith(("/", "\\")) or ".." in parts:
                    raise DataError(archive, None, f"archive member {member.name!r} escapes the extraction directory")
                if not member.isfile():
                    continue  # directories are made as needed; links and devices are not data
                target = dest.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(member)
                fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".part", dir=target.parent)
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(src, out)
                os.replace(tmp, target)
    except (tarfile.TarError, EOFError, OSError) as err:
        raise DataError(archive, None, f"cannot extract archive: {err}") from None


def _offline_hint(name: str, spec: DatasetSpec, cache: Path) -> str:
    wanted = sorted({" or ".join(names) for names in spec.files.values()})
    return (f"Without network, point --data-dir at a directory holding the files "
            f"[{'; '.join(wanted)}], put them in the cache directory {cache}, "
            f"or pass --train/--dev/--test files.")


def _find(directory: Path, names: Sequence[str], recursive: bool) -> Optional[Path]:
    for name in names:
        if (directory / name).is_file():
            return directory / name
    if recursive and directory.is_dir():
        for name in names:
            found = sorted(directory.rglob(name), key=lambda p: (len(p.parts), str(p)))
            found = [p for p in found if p.is_file()]
            if found:
                return found[0]
    return None


def _from_cache(name: str, spec: DatasetSpec, needed: Sequence[str], cache_root: Path,
                download: bool) -> Dict[str, Tuple[Path, str]]:
    """split -> (path, origin) for the needed splits, downloading missing files."""
    cache = cache_root / name
    origin: Dict[str, Tuple[Path, str]] = {}
    missing = []
    for split in needed:
        found = _find(cache, spec.files[split], recursive=spec.archive is not None)
        if found is None:
            found = _find(cache, (spec.remote[split].name,), recursive=False) if split in spec.remote else None
        if found is None:
            missing.append(split)
        else:
            origin[split] = (found, "cache")
    if not missing:
        return origin
    hint = _offline_hint(name, spec, cache)
    if not download:
        raise DataError(cache, None, f"{name}: {', '.join(missing)} not in the cache and download is off. {hint}")
    if spec.archive is not None:
        archive = cache / spec.archive.name
        try:
            fetch_url(spec.archive.url, archive)
        except DataError as err:
            raise DataError(err.path, None, f"{err.message}. {hint}") from None
        _verify(archive, file_digests(archive), {"md5": spec.archive.md5, "sha256": spec.archive.sha256},
                f"Delete {archive} and try again.")
        _extract_tar(archive, cache)
        archive.unlink()
        for split in missing:
            found = _find(cache, spec.files[split], recursive=True)
            if found is None:
                raise DataError(spec.archive.url, None, f"the archive has no {split} file "
                                                        f"(looked for {', '.join(spec.files[split])})")
            origin[split] = (found, "download")
    else:
        for split in missing:
            remote = spec.remote[split]
            dest = cache / remote.name
            try:
                fetch_url(remote.url, dest)
            except DataError as err:
                raise DataError(err.path, None, f"{err.message}. {hint}") from None
            origin[split] = (dest, "download")
    return origin


# ---------------------------------------------------------------------------------------------
# Carving dev from train


def carve_dev(corpus: Corpus, size: int, seed: int = DEV_SEED) -> Tuple[Corpus, Corpus]:
    """Split ``corpus`` into (train, dev) with ``size`` dev sentences chosen by the rule in the
    module docstring. Both parts keep file order, the source path, format, scheme and repairs
    (the counts of the whole source file)."""
    n = len(corpus.sentences)
    if not 0 < size < n:
        raise DataError(corpus.path, None, f"cannot carve a dev set of {size} sentences from {n}; pass a dev file")
    order = sorted(range(n), key=lambda i: hashlib.sha1(f"{seed}:{i}".encode("ascii")).hexdigest())
    chosen = set(order[:size])
    dev = [s for i, s in enumerate(corpus.sentences) if i in chosen]
    train = [s for i, s in enumerate(corpus.sentences) if i not in chosen]
    part = lambda sents: dataclasses.replace(corpus, sentences=sents, repairs=dict(corpus.repairs))  # noqa: E731
    return part(train), part(dev)


def custom_dev_size(n: int) -> int:
    """Dev size carved from custom train data of ``n`` sentences: 10% (rounded down), at most 3000."""
    return min(CUSTOM_DEV_MAX, int(n * CUSTOM_DEV_FRACTION))


# ---------------------------------------------------------------------------------------------
# load_splits


def load_splits(dataset: str = "msra", data_dir: Optional[PathLike] = None, train: Optional[PathLike] = None,
                dev: Optional[PathLike] = None, test: Optional[PathLike] = None,
                cache_dir: Optional[PathLike] = None, download: bool = True, strict: bool = False,
                splits: Sequence[str] = SPLITS, format: Optional[str] = None,
                scheme: Optional[str] = None, overlaps: str = "refuse") -> Splits:
    """Load the requested ``splits`` of ``dataset`` (or custom files); see the module docstring.
    ``format``/``scheme`` force how custom files are read (named datasets' files are known);
    ``overlaps`` is what custom files in a span format do with overlapping spans (``read_corpus``).

    Raises DataError for missing/bad files and failed downloads, UsageError for an unknown
    dataset or split name.
    """
    wanted = tuple(splits)
    bad = [s for s in wanted if s not in SPLITS]
    if bad or not wanted:
        raise UsageError(f"unknown split(s) {bad or list(wanted)}; choose from {', '.join(SPLITS)}")
    info: dict = {"dataset": None, "description": None, "splits": {}, "dev": {}, "notes": []}
    custom = {"train": train, "dev": dev, "test": test}
    spec: Optional[DatasetSpec] = None
    if train is not None:
        # A custom train file replaces the dataset: dev is the given file or carved, test optional.
        info.update(dataset="custom", description="custom files")
        # carve_size -1: carve custom_dev_size(len(train)) once train is read.
        carve_size: Optional[int] = -1 if ("dev" in wanted and dev is None) else None
        needed = {s for s in wanted if custom[s] is not None} | ({"train"} if carve_size else set())
        paths = {s: (Path(custom[s]), "custom") for s in SPLITS if s in needed}
    else:
        if dataset not in DATASETS:
            raise UsageError(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}, "
                             f"or pass --train/--dev/--test files")
        spec = DATASETS[dataset]
        info.update(dataset=dataset, description=spec.description)
        info["notes"].extend(spec.notes)
        carve_size = spec.dev_size if ("dev" in wanted and dev is None and "dev" not in spec.files) else None
        from_dataset = [s for s in SPLITS if s in spec.files and custom[s] is None
                        and (s in wanted or (s == "train" and carve_size))]
        paths = _locate(dataset, spec, from_dataset, data_dir, cache_dir, download)
        paths.update({s: (Path(custom[s]), "custom") for s in ("dev", "test") if s in wanted and custom[s]})

    corpora: Dict[str, Optional[Corpus]] = {s: None for s in SPLITS}
    for split, (path, origin) in paths.items():
        from_spec = spec is not None and origin != "custom"
        fix = TOKEN_FIXES[spec.token_fix] if from_spec and spec.token_fix else None
        forced = {} if from_spec else {"format": format, "scheme": scheme, "overlaps": overlaps}
        corpus = read_corpus(path, strict=strict, token_fix=fix, **forced)
        digests = file_digests(path)
        if from_spec and origin in ("cache", "download"):
            _verify(path, digests, _expected_digests(spec, path), f"Delete {path} to download it again.")
        corpora[split] = corpus
        info["splits"][split] = {"path": str(path), "origin": origin, "format": corpus.format,
                                 "scheme": corpus.scheme, **digests, "known_as": _known_as(digests),
                                 "repairs": dict(corpus.repairs)}
        if split == "train" and digests["md5"] == _PADDLENLP_SIGHAN_TRAIN_MD5:
            info["notes"].append("train is PaddleNLP's msra_ner train.tsv, which drops the 57 empty-tag '0' "
                                 "characters of the original SIGHAN train file (2,171,516 chars, not 2,171,573)")

    if carve_size is not None:
        source = corpora["train"]
        size = custom_dev_size(len(source)) if carve_size < 0 else carve_size
        corpora["train"], corpora["dev"] = carve_dev(source, size)
        info["dev"] = {"method": "carved", "from": source.path, "seed": DEV_SEED, "size": size,
                       "of": len(source),
                       "rule": f"dev = the {size} sentences whose 0-based train index i has the smallest "
                               f"sha1('{DEV_SEED}:' + str(i)) hex digest; train keeps the other {len(source) - size}"}
        info["splits"]["dev"] = dict(info["splits"]["train"], carved_from="train")
        info["notes"].append(f"dev: {size} sentences carved from train (seed {DEV_SEED}; rule in info['dev'])")
    elif "dev" in wanted:
        info["dev"] = {"method": "file"}
    for split in SPLITS:
        if split not in wanted:
            corpora[split] = None
            info["splits"].pop(split, None)
        elif corpora[split] is not None:
            info["splits"][split].update(sentences=len(corpora[split]), chars=corpora[split].num_chars)
    return Splits(corpora["train"], corpora["dev"], corpora["test"], info)


def _expected_digests(spec: DatasetSpec, path: Path) -> Dict[str, Optional[str]]:
    for remote in spec.remote.values():
        if remote.name == path.name:
            return {"md5": remote.md5, "sha256": remote.sha256}
    return {"md5": spec.member_md5.get(path.name)}


def _locate(name: str, spec: DatasetSpec, needed: Sequence[str], data_dir: Optional[PathLike],
            cache_dir: Optional[PathLike], download: bool) -> Dict[str, Tuple[Path, str]]:
    if not needed:
        return {}
    if data_dir is not None or spec.in_repo:
        directory = Path(data_dir) if data_dir is not None else sample_dir()
        origin = "data_dir" if data_dir is not None else "repo"
        if not directory.is_dir():
            where = "" if data_dir is not None else " (it ships with the repository, not the wheel; pass --data-dir)"
            raise DataError(directory, None, f"data directory not found{where}")
        found = {}
        for split in needed:
            path = _find(directory, spec.files[split], recursive=False)
            if path is None:
                raise DataError(directory, None, _missing_message(name, spec, split))
            found[split] = (path, origin)
        return found
    cache_root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return _from_cache(name, spec, needed, cache_root, download)


def _missing_message(name: str, spec: DatasetSpec, split: str) -> str:
    msg = f"no {split} file for dataset {name!r}: looked for {', '.join(spec.files[split])}."
    source = spec.archive.url if spec.archive else (spec.remote[split].url if split in spec.remote else None)
    if source:
        md5 = spec.member_md5.get(spec.files[split][0])
        msg += f" It comes in {source}" + (f" ({spec.files[split][0]}, md5 {md5})." if md5 else ".")
    others = [s for s in SPLITS if s != split and s in spec.files]
    if others:
        msg += f" To load only the other splits, request them alone (splits={tuple(others)!r})."
    return msg

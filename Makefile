# Every user-facing target works as the only command typed on a fresh clone: it first creates
# $(VENV) with a pinned profile. A venv remembers its profile and interpreter (written by
# tools/install.sh into $(VENV)/.paddle-ner-profile), and every target then uses that profile:
# only an explicit `make install PROFILE=...` replaces it.
#   cpu: Paddle 3.3.1 + PaddleNLP 3.0.0b4 (default)   gpu: paddlepaddle-gpu 2.6.2 + PaddleNLP 2.8.1
VENV ?= .venv
MARK := $(VENV)/.paddle-ner-profile
INSTALLED := $(shell cat $(MARK) 2>/dev/null)
PROFILE ?= $(or $(word 1,$(INSTALLED)),cpu)
PYTHON ?= $(or $(word 2,$(INSTALLED)),python3)
PY := $(VENV)/bin/python

.PHONY: install venv test demo serve reproduce bench help clean

# A target other than install, clean or help never swaps the profile a venv holds.
ifneq ($(INSTALLED),)
ifneq ($(PROFILE),$(word 1,$(INSTALLED)))
ifneq ($(filter-out install clean help,$(or $(MAKECMDGOALS),help)),)
$(error $(VENV) holds the $(word 1,$(INSTALLED)) profile, not PROFILE=$(PROFILE). Replace it with `make install PROFILE=$(PROFILE)`, or keep both with VENV=.venv-$(PROFILE))
endif
endif
endif

help:
	@echo "make demo      train, evaluate and predict with the BiGRU-CRF on data/sample (CPU, minutes)"
	@echo "make serve     serve a model over HTTP with a page at / (RUN=$(DEMO_RUN), SERVE_FLAGS=\"--port 8000 ...\")"
	@echo "make test      run the test suite"
	@echo "make reproduce the paper's Table I (RECIPE=paper|ours|\"paper ours\", MODELS=..., SEEDS=..., DATASET=msra|msra_sighan, DATA_DIR=...,"
	@echo "               PRETRAINED_DIR=..., DEVICE=cpu|gpu, MAX_STEPS=..., RUNS=..., RESULTS=...)"
	@echo "make bench     training and prediction throughput on this CPU (results/bench.json)"
	@echo "make install   (re)install $(VENV) with PROFILE=cpu|gpu (now: $(PROFILE)) and PYTHON=$(PYTHON)"

# Explicit: installs PROFILE into VENV, replacing another profile if VENV holds one.
install:
	tools/install.sh $(PROFILE) $(VENV) $(PYTHON)

# Implicit, before every other target: install only if VENV is missing or setup.py / the
# constraints changed since (then the same profile and interpreter are kept).
$(MARK): setup.py constraints/$(PROFILE).txt tools/install.sh
	tools/install.sh $(PROFILE) $(VENV) $(PYTHON)

# One line saying what a target runs on, read from the venv's installed distributions.
define DESCRIBE
from importlib.metadata import version, PackageNotFoundError
def v(name):
    try: return version(name)
    except PackageNotFoundError: return None
paddle = next((f"{d} {v(d)}" for d in ("paddlepaddle-gpu", "paddlepaddle") if v(d)), "no paddle")
import platform
print(f"make: $(VENV) ($(PROFILE) profile): {paddle}, paddlenlp {v('paddlenlp')}, Python {platform.python_version()}")
endef
export DESCRIBE

venv: $(MARK)
	@$(PY) -c "$$DESCRIBE"

test: venv
	$(PY) -m pytest -q tests

# The embedded default job: train the BiGRU-CRF baseline on data/sample (CPU, well under a
# minute of training), score it, and tag two sentences it has never seen.
DEMO_RUN ?= runs/demo
demo: venv
	rm -rf $(DEMO_RUN)
	$(PY) -m paddle_ner.train --model bigru_crf --dataset sample --device cpu --output $(DEMO_RUN) \
		--set train.epochs=20 --set train.batch_size=16
	$(PY) -m paddle_ner.evaluate $(DEMO_RUN) --split test
	$(PY) -m paddle_ner.predict $(DEMO_RUN) --text "刘晓东表示，南京大学将继续加大投入。"
	$(PY) -m paddle_ner.predict $(DEMO_RUN) --text "欢迎来到厦门！王芳说，这里的海鲜很好吃。"

# Serve a run (or an export) on 127.0.0.1:8000, the API and the page at /; Ctrl-C stops it.
# SERVE_FLAGS passes flags on, e.g. SERVE_FLAGS="--port 8080 --max-batch 16".
RUN ?= $(DEMO_RUN)
SERVE_FLAGS ?=
serve: venv
	$(PY) -m paddle_ner.serve $(RUN) $(SERVE_FLAGS)

# The paper's Table I. MODELS, RECIPE (paper = PaddleHub 1.x as the paper ran it, ours, or
# "paper ours" for both side by side), SEEDS, DATASET (msra = the paper's split, or msra_sighan),
# DATA_DIR (local data files instead of downloads), PRETRAINED_DIR (one folder per model key
# with a downloaded checkpoint, instead of downloads), DEVICE (default: the GPU when there is
# one), MAX_STEPS / MAX_TRAIN_SAMPLES (quick checks only), RUNS and RESULTS (output folders).
MODELS ?= bigru_crf bert ernie ernie_tiny roberta
RECIPE ?= paper
SEEDS ?= 1
DATASET ?= msra
DATA_DIR ?=
PRETRAINED_DIR ?=
DEVICE ?=
MAX_STEPS ?=
MAX_TRAIN_SAMPLES ?=
RUNS ?=
RESULTS ?=
reproduce: venv
	$(PY) -m paddle_ner.reproduce --models $(MODELS) --recipes $(RECIPE) --seeds $(SEEDS) --dataset $(DATASET) \
		$(if $(DATA_DIR),--data-dir $(DATA_DIR)) $(if $(PRETRAINED_DIR),--pretrained-dir $(PRETRAINED_DIR)) \
		$(if $(DEVICE),--device $(DEVICE)) $(if $(MAX_STEPS),--max-steps $(MAX_STEPS)) \
		$(if $(MAX_TRAIN_SAMPLES),--max-train-samples $(MAX_TRAIN_SAMPLES)) \
		$(if $(RUNS),--runs $(RUNS)) $(if $(RESULTS),--results $(RESULTS))

# Throughput on this CPU, ours against the PaddleNLP example style (results/bench.json).
bench: venv
	$(PY) benchmarks/bench.py --out results/bench.json

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info

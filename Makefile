# Every user-facing target depends on `install`, so each works as the only command typed
# on a fresh clone. PROFILE=gpu installs Paddle 2.6.2 + PaddleNLP 2.8.1 (V100 / AI Studio).
PROFILE ?= cpu
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(PROFILE)

.PHONY: install test demo reproduce bench help clean

help:
	@echo "make demo      train, evaluate and predict with the BiGRU-CRF on data/sample (CPU, minutes)"
	@echo "make test      run the test suite"
	@echo "make reproduce the paper's Table I (MODELS=..., SEEDS=..., DATASET=msra|msra_sighan, DATA_DIR=...)"
	@echo "make bench     training and prediction throughput on this CPU (results/bench.json)"
	@echo "make install   create $(VENV) with the pinned PROFILE=$(PROFILE) stack"

install: $(STAMP)

$(STAMP): setup.py constraints/$(PROFILE).txt tools/install.sh
	tools/install.sh $(PROFILE) $(VENV) $(PYTHON)
	touch $@

test: install
	$(PY) -m pytest -q tests

# The embedded default job: train the BiGRU-CRF baseline on data/sample (CPU, well under a
# minute of training), score it, and tag two sentences it has never seen.
DEMO_RUN ?= runs/demo
demo: install
	rm -rf $(DEMO_RUN)
	$(PY) -m paddle_ner.train --model bigru_crf --dataset sample --device cpu --output $(DEMO_RUN) \
		--set train.epochs=20 --set train.batch_size=16
	$(PY) -m paddle_ner.evaluate $(DEMO_RUN) --split test
	$(PY) -m paddle_ner.predict $(DEMO_RUN) --text "刘晓东表示，南京大学将继续加大投入。"
	$(PY) -m paddle_ner.predict $(DEMO_RUN) --text "欢迎来到厦门！王芳说，这里的海鲜很好吃。"

# The paper's Table I: MODELS, SEEDS, DATASET (msra = the paper's split, or msra_sighan),
# DATA_DIR (local files instead of downloads), DEVICE (default: the GPU when there is one).
MODELS ?= bigru_crf bert ernie ernie_tiny roberta
SEEDS ?= 1
DATASET ?= msra
DATA_DIR ?=
DEVICE ?=
reproduce: install
	$(PY) -m paddle_ner.reproduce --models $(MODELS) --seeds $(SEEDS) --dataset $(DATASET) \
		$(if $(DATA_DIR),--data-dir $(DATA_DIR)) $(if $(DEVICE),--device $(DEVICE))

# Throughput on this CPU, ours against the PaddleNLP example style (results/bench.json).
bench: install
	$(PY) -m paddle_ner.bench --out results/bench.json

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info

# Every user-facing target depends on `install`, so each works as the only command typed
# on a fresh clone. PROFILE=gpu installs Paddle 2.6.2 + PaddleNLP 2.8.1 (V100 / AI Studio).
PROFILE ?= cpu
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(PROFILE)

.PHONY: install test demo help clean

help:
	@echo "make demo      train, evaluate and predict with the BiGRU-CRF on data/sample (CPU, minutes)"
	@echo "make test      run the test suite"
	@echo "make install   create $(VENV) with the pinned PROFILE=$(PROFILE) stack"

install: $(STAMP)

$(STAMP): setup.py constraints/$(PROFILE).txt tools/install.sh
	tools/install.sh $(PROFILE) $(VENV) $(PYTHON)
	touch $@

test: install
	$(PY) -m pytest -q tests

demo: install
	$(PY) -m paddle_ner.data stats data/sample/train.txt

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info

# Two commands on a fresh machine with Python 3.11 and make: `make demo`, `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast test-slow clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: install
	$(BIN)/zoo train digits_mlp_bernoulli

test: install
	$(BIN)/python -m pytest -q

# The unit tier: blocks, objectives, configs, data checks and composition, no training runs.
FAST_TESTS := tests/test_blocks.py tests/test_conditional.py tests/test_semi_supervised.py tests/test_objective.py tests/test_latents_priors.py tests/test_likelihoods.py \
	tests/test_schedules_and_sampler.py tests/test_serialization.py tests/test_composition.py \
	tests/test_data.py tests/test_image_folders.py

test-fast: install
	$(BIN)/python -m pytest -q $(FAST_TESTS)

test-slow: install
	$(BIN)/python -m pytest -q -m slow

clean:
	rm -rf $(VENV) runs build *.egg-info

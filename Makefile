# Two commands on a fresh machine with Python 3.11 and make: `make demo`, `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pytest-xdist workers for the default suite and the fast tier (tests/conftest.py groups the tests)
WORKERS ?= 2
XDIST := -n $(WORKERS) --dist loadgroup

.PHONY: install demo test test-fast test-slow check-docs clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: install
	$(BIN)/zoo train digits_mlp_bernoulli

test: install
	$(BIN)/python -m pytest -q $(XDIST)

# The unit tier (at most 2 minutes on 2 cores): blocks, objectives, configs, data checks and
# composition, without the tests marked `heavy` (an export or a .keras file reloaded in a fresh
# process, a recipe trained end to end); the default suite runs those.
FAST_TESTS := tests/test_blocks.py tests/test_objective.py tests/test_latents_priors.py tests/test_likelihoods.py \
	tests/test_conditional.py tests/test_semi_supervised.py tests/test_schedules_and_sampler.py \
	tests/test_serialization.py tests/test_composition.py tests/test_data.py tests/test_image_folders.py \
	tests/test_disentanglement.py tests/test_disentangling_objectives.py tests/test_layout.py \
	tests/test_config.py tests/test_model_interface.py

test-fast: install
	$(BIN)/python -m pytest -q $(XDIST) -m "not slow and not heavy" $(FAST_TESTS)

test-slow: install
	$(BIN)/python -m pytest -q -m slow

# The measured tables of README.md and docs/, and each shipped version's MODEL_CARD.md, against
# saved_models/*/*/metrics.json (tests/test_results_tables.py runs the same check)
check-docs: install
	$(BIN)/python tools/write_results.py --check

clean:
	rm -rf $(VENV) runs build *.egg-info

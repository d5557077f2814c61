# Two commands do all set-up: `make run` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: run test test-oldest test-spark lint format bench demo clean browser

$(PY):
	python3 -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m streamlit run dashboard.py --server.port $(PORT)

# Debian's chromium for the real-browser tests; skipped (with a message) where it cannot be installed.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium for the browser tests..."; \
	    (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
	      || echo "chromium could not be installed: browser tests will be skipped"; \
	  else echo "chromium is missing and cannot be installed here: browser tests will be skipped"; fi; }

test: $(STAMP) browser
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	@url=$$(bash tests/pg_server.sh start); \
	  if [ -z "$$url" ]; then echo "PostgreSQL is not installed: its test will be skipped"; fi; \
	  OUTCOMES_TEST_PG_URL="$$url" $(PY) -m pytest --ignore tests/spark; status=$$?; \
	  bash tests/pg_server.sh stop; exit $$status

# The suite (without the browser and PostgreSQL tests) on the lowest versions requirements.txt
# allows, in its own venv; not part of `make test`.
OLDEST := .venv-oldest
test-oldest:
	test -x $(OLDEST)/bin/python || python3 -m venv $(OLDEST)
	$(OLDEST)/bin/python -m pip install --quiet -r requirements-dev.txt -c requirements-oldest.txt
	$(OLDEST)/bin/python -m pytest --ignore tests/e2e --ignore tests/spark

# The push-down parity tests on Spark (local mode): installs pyspark into the venv and, where
# Java is missing, Debian's Java runtime (as root). Not part of `make test`.
SPARK_STAMP := $(VENV)/.installed-spark
$(SPARK_STAMP): $(STAMP) requirements-spark.txt
	$(PY) -m pip install --quiet -r requirements-spark.txt
	touch $(SPARK_STAMP)

test-spark: $(SPARK_STAMP)
	@command -v java >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && apt-get install -y -qq default-jre-headless >/dev/null; \
	  else echo "Java is missing and cannot be installed here"; exit 1; fi; }
	$(PY) -m pytest tests/spark

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

demo: $(STAMP)
	$(PY) data/make_demo_cohort.py

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP) requirements-bench.txt
	$(PY) -m pip install --quiet -r requirements-bench.txt
	touch $(BENCH_STAMP)

# Generates build/bench/*.parquet once (seeded), then measures: sizes 1k..1M take ~10 minutes.
bench: $(BENCH_STAMP) browser
	$(PY) -m bench.bench $(if $(SIZES),--sizes $(SIZES))

clean:
	rm -rf $(VENV) $(OLDEST) .pytest_cache .ruff_cache

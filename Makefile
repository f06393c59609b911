# HàiLòng: `make run` serves the demo (web server and job worker), `make test` runs every suite, `make bench` measures.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app app
PORT ?= 5000
CATALOGUES := $(wildcard app/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)

.PHONY: run test bench check translations extract-messages clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed-run: requirements.txt | $(PY)
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.installed-run

%.mo: %.po
	$(VENV)/bin/pybabel compile -f -i $< -o $@

translations: $(VENV)/.installed-run $(COMPILED)

run: $(VENV)/.installed-run translations
	$(FLASK) init-db
	$(FLASK) seed-demo
	$(FLASK) report refresh
	@# The job worker (with the scheduler) runs beside the web server and stops with it.
	$(FLASK) jobs worker --workers 2 & worker=$$!; \
	trap 'kill -INT $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(VENV)/bin/gunicorn --workers 2 --bind 127.0.0.1:$(PORT) --access-logfile - "app.wsgi:application"

test: $(VENV)/.installed-dev translations check
	$(PY) -m pytest -q
	$(PY) -m pytest -q -m database --db postgresql

# Static analysis of app/ (findings reviewed inline as `# nosec BXXX` with the reason beside them), the layer rules
# of app/ (import contracts in .importlinter), and a dependency audit that says plainly when the vulnerability service
# is out of reach (see tests/security/audit_dependencies.py).
check: $(VENV)/.installed-dev
	$(VENV)/bin/bandit -q -r app
	$(VENV)/bin/lint-imports
	$(PY) tests/security/audit_dependencies.py

bench: $(VENV)/.installed-dev translations
	$(PY) bench/run.py

extract-messages: $(VENV)/.installed-dev
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -o app/translations/messages.pot --no-location --omit-header .
	$(VENV)/bin/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching --omit-header

clean:
	rm -rf $(VENV) .pytest_cache

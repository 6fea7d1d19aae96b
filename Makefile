# Shortcuts for the scripts in scripts/ (they work without make too).
.PHONY: run test lint format

run:
	scripts/run

test:
	scripts/test

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format:
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

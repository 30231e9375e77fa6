"""Checks that mirror real publishing pipelines: Read the Docs' commands, sphinx-quickstart's
Makefile, and the lowest and newest dependency versions. Standard library only, so the same
code runs in the build/venv-lowest and build/venv-newest environments."""

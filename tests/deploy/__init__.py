"""Tests that run the deployment guides (deploy/*/README.md) as written, against real servers."""

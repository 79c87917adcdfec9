"""Helpers and fixtures shared by the test suites: environments, stubs, clients."""

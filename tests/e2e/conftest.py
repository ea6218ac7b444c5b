"""Register the ``e2e`` marker for the browser tests in this folder."""


def pytest_configure(config):
    # Here until pyproject.toml lists it among the markers.
    config.addinivalue_line(
        "markers", "e2e: drives a real headless Chromium (Debian's chromium)"
    )

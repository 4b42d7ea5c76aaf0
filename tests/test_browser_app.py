"""The real app in Chromium: every tab opens at 1400x1000 with no console error."""

import pytest

from conftest import needs_browser

pytestmark = needs_browser


@pytest.mark.parametrize("tab", ["ResNet replication", "Transfer learning", "Image story", "ODIN"])
def test_every_tab_opens_without_console_errors(app_url, page, tab):
    page.goto(app_url)
    page.get_by_role("tab", name=tab).click()
    heading = {"ResNet replication": "ResNet replication", "Transfer learning": "Transfer learning",
               "Image story": "Image", "ODIN": "ODIN: out-of-distribution detection"}[tab]
    page.get_by_role("heading", name=heading).first.wait_for(state="visible", timeout=15_000)
    assert page.console_errors == []

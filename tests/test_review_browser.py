"""The review page in a real browser (Debian's chromium through selenium and chromedriver).

The page opens on a synthetic clip whose tracks hold a planted id switch; the test steps to the
switch with the arrow key, clicks the two people, swaps them from there, saves, and checks that the
file on disk is byte for byte what `posetrack edit ... swap` writes. Skipped, saying what to
install, where no browser is available (CI installs chromium and chromium-driver: .ci/run).
"""
from __future__ import annotations

import shutil
import tempfile
import time

import pytest
from click.testing import CliRunner

from posetrack.tracksfile.codec import write_tracks
from posetrack_cli import cli
from helpers.review_data import H, W, crossing, crossing_video, positions, review_server

N, SWAP_AT = 24, 14
EPOCH = "1735787045"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1300,900"]
INSTALL = ("apt-get install -y chromium chromium-driver (Debian), and selenium (pip install -e '.[dev]')")


def _browser_paths():
    binary = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    return binary, shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason=f"no selenium: {INSTALL}")
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = _browser_paths()
    if binary is None or driver_path is None:
        pytest.skip(f"no chromium or chromedriver on PATH: {INSTALL}")
    options = webdriver.ChromeOptions()
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="posetrack-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.binary_location = binary
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(tmp_path, monkeypatch):
    """A review server on the crossing clip (planted switch at SWAP_AT); yields (server, tracks path)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    clip = crossing_video(tmp_path, n=N)
    path = tmp_path / "tracks.json"
    write_tracks(path, crossing(N, SWAP_AT))
    with review_server(clip, path) as server:
        yield server, path


def wait_for(driver, script: str, expected, timeout: float = 20.0):
    """Poll a JavaScript expression until it returns ``expected``."""
    end = time.monotonic() + timeout
    value = None
    while time.monotonic() < end:
        value = driver.execute_script(f"return {script}")
        if value == expected:
            return
        time.sleep(0.05)
    raise AssertionError(f"{script} is {value!r}, expected {expected!r}; page log: {driver.get_log('browser')}")


def click_person(driver, box, shift: bool = False):
    """Click the centre of ``box`` (frame pixels) on the video canvas, scaled to its size on screen."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    canvas = driver.find_element(By.ID, "video")
    width, height = canvas.size["width"], canvas.size["height"]
    x, y = (box[0] + box[2]) / 2 * width / W, (box[1] + box[3]) / 2 * height / H
    actions = ActionChains(driver).move_to_element_with_offset(canvas, int(x - width / 2), int(y - height / 2))
    if shift:
        actions.key_down(Keys.SHIFT).click().key_up(Keys.SHIFT).perform()
    else:
        actions.click().perform()


def leaving_is_held(driver) -> bool:
    """Whether the page's beforeunload handler asks to stay (headless chromedriver answers the real dialog
    itself, so the handler is asked directly, with the event a browser sends)."""
    return driver.execute_script("const e = new Event('beforeunload', {cancelable: true});"
                                 "window.dispatchEvent(e); return e.defaultPrevented;")


def test_swap_in_the_page_saves_what_posetrack_edit_writes(browser, page, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    server, path = page
    original = path.read_bytes()
    browser.get(server.url)
    wait_for(browser, "document.body.dataset.ready", "1")
    wait_for(browser, "document.body.dataset.frame", "0")
    body = browser.find_element(By.TAG_NAME, "body")
    for _ in range(SWAP_AT):                                      # step to the switch, one frame at a time
        body.send_keys(Keys.ARROW_RIGHT)
    wait_for(browser, "document.body.dataset.frame", str(SWAP_AT))
    pos = positions(SWAP_AT, N)
    click_person(browser, pos["Q"])                               # the planted switch put id 0 on Q
    click_person(browser, pos["P"], shift=True)
    wait_for(browser, "document.body.dataset.a", "0")
    wait_for(browser, "document.body.dataset.b", "1")
    body.send_keys("s")                                           # swap A and B from this frame
    wait_for(browser, "document.body.dataset.edits", "1")
    wait_for(browser, "document.body.dataset.dirty", "1")
    assert browser.find_element(By.ID, "edits").text == f"swap 0 1 --from {SWAP_AT}"
    assert path.read_bytes() == original                          # nothing written before Save
    assert leaving_is_held(browser)
    browser.find_element(By.ID, "btn-save").click()
    wait_for(browser, "document.body.dataset.saved", "1")
    wait_for(browser, "document.body.dataset.dirty", "0")
    assert not leaving_is_held(browser)

    (tmp_path / "orig.json").write_bytes(original)
    r = CliRunner().invoke(cli, ["edit", str(tmp_path / "orig.json"), "-o", str(tmp_path / "cli.json"), "swap", "0",
                                 "1", "--from", str(SWAP_AT)], env={"SOURCE_DATE_EPOCH": EPOCH})
    assert r.exit_code == 0, r.output
    assert path.read_bytes() == (tmp_path / "cli.json").read_bytes()

    body.send_keys(Keys.CONTROL, "z")                             # undo in the page: unsaved again
    wait_for(browser, "document.body.dataset.edits", "0")
    wait_for(browser, "document.body.dataset.dirty", "1")
    assert leaving_is_held(browser)                               # the unsaved-changes guard


def test_the_page_needs_the_token(browser, page):
    from selenium.webdriver.common.by import By

    server, _ = page
    browser.get(server.url.split("?")[0])
    assert "missing or wrong session token" in browser.find_element(By.TAG_NAME, "body").text
    browser.get(server.url.replace("token=", "token=x"))
    assert "missing or wrong session token" in browser.find_element(By.TAG_NAME, "body").text

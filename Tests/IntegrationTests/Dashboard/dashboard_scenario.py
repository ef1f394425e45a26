"""The dashboard in a real browser: Debian's chromium, headless, driven by selenium.

Run by DashboardBrowserTests.swift against a real server with a real worker rendering a real
Blender job:  python3 dashboard_scenario.py SERVER ADMIN_TOKEN READ_ONLY_TOKEN JOB OTHER_JOB_A OTHER_JOB_B CLIENT_NAME SHOTS_DIR CONTROL_DIR

To take the server away and bring it back, it leaves a file named stop-server, then
start-server, in CONTROL_DIR; the test acts on each and removes it.

It signs in, watches the running job's progress bar and contact sheet change without a reload,
pauses and resumes it, disables a client, selects two jobs and cancels both, reads a task's log
as it grows, loses the server and sees the page recover by itself, checks a read-only session
offers no changes, and saves screenshots. Every step is
also checked against the server's API. Exits non-zero, saying which step failed, on any failure.
"""

import json
import os
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import ElementClickInterceptedException, ElementNotInteractableException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

SERVER, ADMIN, READER, JOB, OTHER_A, OTHER_B, CLIENT, SHOTS, CONTROL = sys.argv[1:10]
JOB, OTHER_A, OTHER_B = int(JOB), int(OTHER_A), int(OTHER_B)
# Generous: the suite runs on slow, shared machines; nothing here is timed.
PATIENCE = float(os.environ.get("BRENDER_BROWSER_PATIENCE", "120"))
step = "starting chromium"


def api(request):
    body = json.dumps(request).encode()
    call = urllib.request.Request(SERVER + "/api", data=body, headers={"Authorization": "Bearer " + ADMIN, "Content-Type": "application/json"})
    with urllib.request.urlopen(call, timeout=30) as answer:
        return json.load(answer)


def job(id):
    return api({"item": "job", "action": "read", "filters": {"id": id}})["items"][0]


def wait(condition, what, timeout=PATIENCE):
    """Waits for condition() to be true. Rows are redrawn as events arrive, so an element found a
    moment ago may be gone: that counts as not yet."""
    def check(_):
        try:
            return condition()
        except (StaleElementReferenceException, IndexError):
            return False
    try:
        return WebDriverWait(browser, timeout, poll_frequency=0.1).until(check)
    except TimeoutException:
        raise AssertionError(f"{step}: waited {timeout:.0f} s for {what}")


def click(selector, text=None, keys=None):
    """Clicks (or types `keys` into) the first enabled element matching selector (and text), found afresh."""
    def attempt():
        for element in css(selector):
            if (text is None or element.text == text) and element.is_enabled():
                try:
                    # Clear of the sticky header bar, which would otherwise take the click.
                    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
                    if keys is None:
                        element.click()
                    else:
                        element.send_keys(keys)
                except (ElementNotInteractableException, ElementClickInterceptedException):
                    return False
                return True
        return False
    wait(attempt, f"{selector} {text or ''} to act on")


def css(selector, root=None):
    return (root or browser).find_elements(By.CSS_SELECTOR, selector)


def shot(name):
    path = os.path.join(SHOTS, name)
    browser.save_screenshot(path)
    print(f"screenshot: {path}")


def sign_in(token):
    css("#token")[0].send_keys(token)
    css("#sign-in-form button")[0].click()
    wait(lambda: css("#bar") and css("#bar")[0].is_displayed(), "the signed-in page")


# Read in one script each: the page redraws rows and cells as events arrive, so elements held
# across several WebDriver calls may be gone.
def progress_of_header():
    return browser.execute_script("const bar = document.querySelector('.job-head progress'); return bar ? bar.value : -1")


def preview_count():
    return browser.execute_script("return [...document.querySelectorAll('.sheet .frame img')].filter(i => i.src.startsWith('blob:')).length")


def status_in_header():
    return browser.execute_script("const label = document.querySelector('.job-head h1 .status'); return label ? label.textContent : ''")


def button_labels():
    return browser.execute_script("return [...document.querySelectorAll('.view button')].map(b => b.textContent)")


def click_job_action(label):
    click(".view .toolbar button", label)


options = Options()
options.binary_location = os.environ.get("BRENDER_CHROMIUM", "/usr/bin/chromium")
for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1440,1000", "--disable-gpu"]:
    options.add_argument(argument)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
browser = webdriver.Chrome(service=Service(os.environ.get("BRENDER_CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
try:
    step = "sign-in page"
    browser.get(SERVER + "/")
    wait(lambda: css("#sign-in") and css("#sign-in")[0].is_displayed(), "the sign-in form")
    assert not css("#bar")[0].is_displayed(), "the navigation shows before signing in"
    css("#token")[0].send_keys("not-the-token")
    css("#sign-in-form button")[0].click()
    wait(lambda: "refused" in css("#sign-in-error")[0].text, "the refusal of a wrong token")
    shot("sign-in.png")
    # The browser logs that refusal (a 401) as an error; only errors after it count below.
    browser.get_log("browser")

    step = "sign in with the admin token"
    sign_in(ADMIN)
    assert browser.execute_script("return sessionStorage.getItem('brender.token')") == ADMIN
    assert ADMIN not in browser.current_url
    # Set once; a reload would lose it. Every later step checks it is still there.
    browser.execute_script("window.brenderNoReload = 'still here'")
    wait(lambda: css(".cards .card"), "the overview cards")

    step = "jobs page"
    css("nav a[data-nav='jobs']")[0].click()
    wait(lambda: css(f"tr[data-job='{JOB}']"), f"job {JOB} in the jobs table")
    wait(lambda: job(JOB)["frames_done"] > 0 and css(f"tr[data-job='{JOB}'] progress")[0].get_attribute("value") not in ("0", None),
         "the running job's progress in the table")
    shot("jobs.png")

    step = "a running job's page: the progress bar and the contact sheet change live"
    click(f"tr[data-job='{JOB}'] td.name a")
    wait(lambda: css(".sheet .frame"), "the contact sheet")
    frames_first, previews_first = progress_of_header(), preview_count()
    wait(lambda: progress_of_header() > frames_first, "the progress bar to move")
    wait(lambda: preview_count() > previews_first, "a new preview on the contact sheet")
    placeholders = browser.execute_script("return [...document.querySelectorAll('.sheet .frame')].filter(c => !c.querySelector('img')).length")
    assert placeholders > 0, "every frame has a preview already; the job ended too soon to watch it"
    assert browser.execute_script("return window.brenderNoReload") == "still here", "the page reloaded"
    shot("job-contact-sheet.png")

    step = "a task's log as it grows"
    # A running task's log, opened while it runs, must grow on the page. A task may end just as
    # its log is opened (then all of it came at once): try the next running one.
    grown = False
    for attempt in range(5):
        wait(lambda: api({"item": "task", "action": "read", "filters": {"job": JOB, "status": "active"}})["items"], "an active task")
        active = api({"item": "task", "action": "read", "filters": {"job": JOB, "status": "active"}})["items"][0]["id"]
        click(f"tr[data-task='{active}'] button")
        wait(lambda: css("pre.log")[0].get_attribute("aria-label") == f"Log of task {active}" and len(css("pre.log")[0].text) > 0, "the first text of the log")
        first_length = len(css("pre.log")[0].text)
        try:
            wait(lambda: len(css("pre.log")[0].text) > first_length, "the log to grow", timeout=30)
            grown = True
            break
        except AssertionError:
            assert job(JOB)["status"] == "active", "the job ended before a log could be watched growing"
    assert grown, "no task's log grew on the page while it was open"
    assert "Fra:" in css("pre.log")[0].text or "[brender]" in css("pre.log")[0].text

    step = "pause the job"
    click_job_action("Pause")
    wait(lambda: status_in_header() == "paused", "the paused status on the page")
    assert job(JOB)["status"] == "paused"
    step = "resume the job"
    wait(lambda: browser.execute_script("return [...document.querySelectorAll('.view .toolbar button')].some(b => b.textContent === 'Resume' && !b.disabled)"), "the Resume button")
    click_job_action("Resume")
    wait(lambda: status_in_header() in ("queued", "active"), "the resumed status on the page")
    assert job(JOB)["status"] in ("queued", "active")

    step = "disable a client"
    css("nav a[data-nav='clients']")[0].click()
    wait(lambda: css("tr[data-client]"), "the clients table")
    client_id = api({"item": "client", "action": "read", "filters": {"name": CLIENT}})["items"][0]["id"]
    click(f"tr[data-client='{client_id}'] input[type=checkbox]")
    click(".toolbar button", "Disable")
    wait(lambda: css(f"tr[data-client='{client_id}'] .status-disabled"), "the client shown disabled")
    assert api({"item": "client", "action": "read", "filters": {"id": client_id}})["items"][0]["status"] == "disabled"
    shot("clients.png")
    # Enabled again with the keyboard only: focus the checkbox, Space ticks it, Enter presses the button.
    step = "enable it again with the keyboard"
    click(f"tr[data-client='{client_id}'] input[type=checkbox]", keys=Keys.SPACE)
    wait(lambda: css(f"tr[data-client='{client_id}'] input[type=checkbox]")[0].is_selected(), "the checkbox ticked by Space")
    click(".toolbar button", "Enable", keys=Keys.ENTER)
    wait(lambda: css(f"tr[data-client='{client_id}'] .status-enabled"), "the client shown enabled")

    step = "select two jobs and cancel both"
    css("nav a[data-nav='jobs']")[0].click()
    wait(lambda: css(f"tr[data-job='{OTHER_A}'] input[type=checkbox]") and css(f"tr[data-job='{OTHER_B}'] input[type=checkbox]"), "both jobs")
    click(f"tr[data-job='{OTHER_A}'] input[type=checkbox]")
    click(f"tr[data-job='{OTHER_B}'] input[type=checkbox]")
    wait(lambda: "2 selected" in browser.page_source, "two jobs selected")
    click_job_action("Cancel")
    wait(lambda: css("#confirm")[0].is_displayed(), "the confirmation")
    assert "2 jobs" in css("#confirm-text")[0].text
    css("#confirm-ok")[0].click()
    wait(lambda: css(f"tr[data-job='{OTHER_A}'] .status-canceled") and css(f"tr[data-job='{OTHER_B}'] .status-canceled"), "both shown canceled")
    assert job(OTHER_A)["status"] == "canceled" and job(OTHER_B)["status"] == "canceled"
    assert job(JOB)["status"] not in ("canceled",), "the running job was canceled too"

    step = "the page never reloaded"
    assert browser.execute_script("return window.brenderNoReload") == "still here", "the page reloaded"

    step = "the browser saw no errors (a Content-Security-Policy refusal would be one)"
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, f"browser errors: {errors}"

    step = "the server goes away: a banner, then it resumes by itself"
    open(os.path.join(CONTROL, "stop-server"), "w").close()
    wait(lambda: css("#banner")[0].is_displayed(), "the lost-connection banner")
    shot("connection-lost.png")
    open(os.path.join(CONTROL, "start-server"), "w").close()
    wait(lambda: not css("#banner")[0].is_displayed(), "the banner to go once the server is back")
    wait(lambda: api({"item": "farm", "action": "read"}) is not None, "the server to answer")
    api({"item": "job", "action": "update", "filters": {"id": JOB}, "values": {"priority": 77}})
    wait(lambda: css(f"tr[data-job='{JOB}'] td.num")[1].text == "77", "a change after the restart to show without a reload")

    # The browser logs the dropped stream and the refused reconnections as errors: expected here.
    browser.get_log("browser")

    step = "a phone-sized window"
    browser.set_window_size(390, 844)
    browser.get(SERVER + "/#/jobs")
    wait(lambda: css(f"tr[data-job='{JOB}']"), "the jobs table on a phone")
    shot("jobs-phone.png")
    overflow = browser.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than a phone (only the table may scroll sideways)"
    browser.set_window_size(1440, 1000)

    step = "dark mode"
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    background = browser.execute_script("return getComputedStyle(document.body).backgroundColor")
    channels = [int(part) for part in background[background.index("(") + 1:background.index(")")].split(",")[:3]]
    assert sum(channels) < 150, f"the page stays light in dark mode: {background}"
    shot("jobs-dark.png")
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "light"}]})

    step = "a read-only session offers no changes"
    css("#sign-out")[0].click()
    wait(lambda: css("#sign-in")[0].is_displayed(), "the sign-in form after signing out")
    assert browser.execute_script("return sessionStorage.getItem('brender.token')") is None
    sign_in(READER)
    assert "read-only" in css("#who")[0].text
    for page, ready in ((f"#/jobs/{JOB}", ".sheet .frame"), ("#/jobs", f"tr[data-job='{JOB}']"), ("#/clients", "tr[data-client]")):
        browser.get(SERVER + "/" + page)
        wait(lambda: css(ready), f"{page} for a read-only token")
        changers = [label for label in button_labels() if label not in ("Log", "Previous", "Next", "Close", "Id", "Name", "Status", "Priority",
                    "Progress", "Started", "Time left", "Connection", "Activity", "Platform", "Last seen")]
        assert not changers, f"{page} offers {changers} to a read-only token"
        assert browser.execute_script("return document.querySelectorAll('.view input[type=checkbox]').length") == 0, f"{page} offers selection to a read-only token"
    shot("read-only-job.png")
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, f"browser errors: {errors}"
    print("dashboard scenario passed")
except Exception as failure:
    shot("failure.png")
    print(f"FAILED at '{step}': {failure}", file=sys.stderr)
    for entry in browser.get_log("browser"):
        print(f"browser: {entry}", file=sys.stderr)
    sys.exit(1)
finally:
    browser.quit()

"""Times the dashboard's jobs page in Debian's chromium (headless), against a server that
brender-bench filled with jobs:  python3 dashboard-bench.py SERVER TOKEN ROUNDS

Prints one JSON object: milliseconds from asking for the jobs page (a sort, so the server pages
and sorts all jobs each time) until its 50 rows are in the document and painted, and from a fresh
load of the page (signed in, token in the tab) until the same.
"""

import json
import os
import statistics
import sys

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

SERVER, TOKEN, ROUNDS = sys.argv[1], sys.argv[2], int(sys.argv[3])

options = Options()
options.binary_location = os.environ.get("BRENDER_CHROMIUM", "/usr/bin/chromium")
for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1440,1000", "--disable-gpu"]:
    options.add_argument(argument)
browser = webdriver.Chrome(service=Service(os.environ.get("BRENDER_CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
browser.set_script_timeout(120)

ROWS_PAINTED = """
const done = arguments[arguments.length - 1];
const start = arguments[0] === null ? 0 : performance.now();
if (arguments[0] !== null) location.hash = arguments[0];
(function check() {
  if (document.querySelectorAll("tbody tr[data-job]").length >= 50) {
    requestAnimationFrame(() => done(performance.now() - start));
  } else {
    requestAnimationFrame(check);
  }
})();
"""

try:
    browser.get(SERVER + "/")
    browser.execute_script("sessionStorage.setItem('brender.token', arguments[0])", TOKEN)
    browser.refresh()  # signed in from the tab's storage
    browser.execute_async_script("const done = arguments[0]; (function wait() { document.querySelector('#bar:not([hidden])') ? done() : requestAnimationFrame(wait); })();")
    sorts = ["-id", "name", "-priority", "id", "-name", "priority"]
    switches, loads = [], []
    for round in range(ROUNDS):
        browser.execute_script("location.hash = '#/clients'")
        browser.execute_async_script("const done = arguments[0]; (function wait() { document.querySelector('tbody tr[data-job]') ? requestAnimationFrame(wait) : done(); })();")
        switches.append(browser.execute_async_script(ROWS_PAINTED, f"#/jobs?sort={sorts[round % len(sorts)]}"))
    for round in range(max(3, ROUNDS // 3)):
        browser.get(SERVER + "/#/jobs?sort=" + sorts[round % len(sorts)])
        browser.refresh()
        loads.append(browser.execute_async_script(ROWS_PAINTED, None))
    print(json.dumps({
        "jobs_page_switch_median_ms": statistics.median(switches), "jobs_page_switch_max_ms": max(switches),
        "jobs_page_load_median_ms": statistics.median(loads), "jobs_page_load_max_ms": max(loads),
    }))
finally:
    browser.quit()

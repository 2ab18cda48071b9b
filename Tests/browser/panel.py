"""Driving the gateway's panel in Debian's Chromium through Selenium: shared by Tests/browser/test_gateway.py
and tools/sipbed's screen_pop scenario (which runs under Debian's python3, with python3-selenium)."""
import time


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    o = webdriver.ChromeOptions()
    for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1100", "--lang=en"]:
        o.add_argument(a)
    o.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)


def wait(driver, cond, timeout=15, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            r = cond(driver)
            if r: return r
        except Exception as e:
            last = e
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} ({last})")


def sign_in_with_keyboard(driver, url, agent, token):
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.common.by import By
    driver.get(url + "/")
    wait(driver, lambda d: d.find_element(By.ID, "agent").is_displayed(), what="the sign-in form")
    active = driver.switch_to.active_element
    assert active.get_attribute("id") == "agent", "the agent field has the focus"
    active.send_keys(agent, Keys.TAB)
    driver.switch_to.active_element.send_keys(token, Keys.ENTER)
    wait(driver, lambda d: d.find_element(By.ID, "work-view").is_displayed(), what="the work view")
    wait(driver, lambda d: d.find_element(By.ID, "stream-state").text == "live", what="the stream")

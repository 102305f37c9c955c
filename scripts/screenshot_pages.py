"""Screenshots of the pages of `srlab compare` and `srlab mos` in headless Chromium, for docs/report/.

    python scripts/screenshot_pages.py compare compare.html docs/report/compare.png
    python scripts/screenshot_pages.py mos http://127.0.0.1:8000/study/set5_x3/ docs/report/mos --rater demo

`compare` presses the right arrow twice (the region moves) before the shot; `mos` joins as `--rater`, shoots the
calibration step (`<out>_calibration.png`) and the first image to rate (`<out>_rating.png`). Needs Debian's
`chromium` and `chromium-driver` and selenium (the dev extra).
"""

import argparse
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("page", choices=["compare", "mos"])
    parser.add_argument("url", help="the compare page's file, or the study's URL")
    parser.add_argument("out", type=Path, help="the PNG file (compare) or the stem of the two PNG files (mos)")
    parser.add_argument("--rater", default="demo")
    parser.add_argument("--size", default="1280,860", help="the window, WIDTH,HEIGHT")
    args = parser.parse_args()
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (*FLAGS, f"--window-size={args.size}"):
        options.add_argument(flag)
    with tempfile.TemporaryDirectory() as profile:
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        wait = WebDriverWait(driver, 30)
        try:
            if args.page == "compare":
                driver.get(Path(args.url).resolve().as_uri())
                for _ in range(2):
                    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)
                driver.save_screenshot(str(args.out))
                print(f"wrote {args.out}")
                return
            driver.get(args.url)
            driver.find_element(By.ID, "name").send_keys(args.rater)
            driver.find_element(By.CSS_SELECTOR, "#join button").click()
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#references img"))
            time.sleep(1)  # the references decode
            driver.save_screenshot(f"{args.out}_calibration.png")
            driver.find_element(By.ID, "calibrated").click()
            wait.until(lambda d: d.execute_script("return document.getElementById('shown').naturalWidth > 0"))
            driver.save_screenshot(f"{args.out}_rating.png")
            print(f"wrote {args.out}_calibration.png and {args.out}_rating.png")
        finally:
            driver.quit()


if __name__ == "__main__":
    main()

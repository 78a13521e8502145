"""First views of one page in Chromium, the app started as README says, two settings alternated.

For each app start (``--starts`` per setting, the settings alternating): two browser
contexts, each opening the page twice, a new visitor's view (empty HTTP cache) and a
returning one's, timed as the explorer test times them (``wait_interactive``); also when the
app element appeared (Streamlit's own boot) and the app's resident memory at the end. A
setting is a list of environment variables for the app (``--a``, ``--b``: ``KEY=VALUE,...``).
BENCHMARKS.md ("First views in Chromium") quotes it with ``--b RA_PREFETCH=0``; malloc's
resident memory is compared with ``--b RA_RETAIN_FREED_MEMORY=0``.

    python -m benchmarks.bench_first_view [--page /boundaries --title "Decision boundaries"]
        [--starts 2] [--a KEY=VALUE,...] [--b KEY=VALUE,...] [--wait-after-start 0] [--warmed]
"""

from __future__ import annotations

import argparse
import statistics
import time

STAMP_APP = """new MutationObserver(() => {
  if (!window.__app && document.querySelector('[data-testid="stApp"]'))
    window.__app = performance.now();
}).observe(document, {subtree: true, childList: true});"""


def setting(text: str) -> dict:
    return dict(pair.split("=", 1) for pair in text.split(",") if pair)


def resident_gb(pid: int) -> float:
    line = next(x for x in open(f"/proc/{pid}/status") if x.startswith("VmRSS"))
    return int(line.split()[1]) / 1e6


def one_start(browser, env: dict, args) -> dict:
    from tests.app.browser_support import start_app, stop_app, wait_interactive

    url, proc, log = start_app("bench-first-view-app.log", warmed=args.warmed, **env)
    time.sleep(args.wait_after_start)
    views = {"new": [], "returning": []}
    boot = []
    try:
        for _ in range(2):
            context = browser.new_context(viewport={"width": 1500, "height": 1300})
            context.add_init_script(STAMP_APP)
            page = context.new_page()
            for visit in ("new", "returning"):
                page.goto(url + args.page)
                views[visit].append(wait_interactive(page, args.title))
                if visit == "new":
                    boot.append(page.evaluate("window.__app") / 1000)
            context.close()
        rss = resident_gb(proc.pid)
    finally:
        stop_app(proc, log)
    return {**views, "boot": boot, "rss": rss}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--page", default="/boundaries")
    parser.add_argument("--title", default="Decision boundaries")
    parser.add_argument("--starts", type=int, default=2)
    parser.add_argument("--a", default="", help="the first setting's environment, KEY=VALUE,...")
    parser.add_argument("--b", default="", help="the second setting's environment")
    parser.add_argument("--wait-after-start", type=float, default=0.0,
                        help="seconds between the app's start and the first view")
    parser.add_argument("--warmed", action="store_true",
                        help="first wait until the launcher's warm-up behind the server ended")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from tests.app.browser_support import CHROMIUM, FLAGS

    results = {"a": [], "b": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for _ in range(args.starts):
            for name in ("a", "b"):
                results[name].append(one_start(browser, setting(getattr(args, name)), args))
        browser.close()
    print(f"first views of {args.page}, {args.starts} app starts per setting, 2 contexts each")
    for name in ("a", "b"):
        runs = results[name]
        new = [t for r in runs for t in r["new"]]
        back = [t for r in runs for t in r["returning"]]
        boot = [t for r in runs for t in r["boot"]]
        print(f"   {name} ({getattr(args, name) or 'as README says'}): new browser "
              f"{min(new):.2f}-{max(new):.2f} s (mean {statistics.mean(new):.2f}), returning "
              f"{min(back):.2f}-{max(back):.2f} s (mean {statistics.mean(back):.2f}); app element "
              f"after {min(boot):.2f}-{max(boot):.2f} s in a new browser; resident "
              f"{min(r['rss'] for r in runs):.2f}-{max(r['rss'] for r in runs):.2f} GB")


if __name__ == "__main__":
    main()

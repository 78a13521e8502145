"""Start the app: preload the heavy libraries and the default workspace, then run Streamlit.

``bash scripts/main.sh`` calls ``python -m app.launch [streamlit run options]`` after copying
``app/streamlit_config.toml`` to ``.streamlit/config.toml``; ``python -m analysis app`` (or
``ra-explorer app``) calls :func:`main` with those settings as ``streamlit run`` options
(:func:`streamlit_options`), so an installed copy needs no file in the current directory. Streamlit
imports a page's modules only when the first browser session runs it, so without a
preload the first visitor waits for torch, piq (which imports torchvision and
torch._dynamo, about 2-4 s on this machine) and the models. Here that cost is paid
once before the server accepts connections, the way a preforking web server preloads
its application. ``RA_PRELOAD=0`` skips it (the server then starts at once and the
first page load pays instead).
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAIN = ROOT / "app" / "main.py"
SETTINGS = ROOT / "app" / "streamlit_config.toml"   # the app's Streamlit settings


def streamlit_settings() -> dict[str, object]:
    """The settings of ``app/streamlit_config.toml`` as {"section.option": value}."""
    with SETTINGS.open("rb") as fh:
        table = tomllib.load(fh)
    return {f"{section}.{key}": value for section, options in table.items()
            for key, value in options.items()}


def settings_variable(option: str) -> str:
    """Streamlit's environment variable for ``option`` (``server.maxUploadSize`` ->
    ``STREAMLIT_SERVER_MAX_UPLOAD_SIZE``)."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", option.replace(".", "_"))
    return "STREAMLIT_" + snake.upper()


def streamlit_options(port: int | None = None, address: str | None = None) -> list[str]:
    """``streamlit run`` options that apply ``app/streamlit_config.toml`` as scripts/main.sh's
    copy of it does: ``--section.option=value`` for each setting, except those set by their
    environment variable (``STREAMLIT_SERVER_PORT`` ...), which win as they do over the file;
    ``port`` and ``address``, when given, win over both."""
    chosen = {option: value for option, value in streamlit_settings().items()
              if settings_variable(option) not in os.environ}
    if port is not None:
        chosen["server.port"] = port
    if address is not None:
        chosen["server.address"] = address
    return [f"--{option}={str(value).lower() if isinstance(value, bool) else value}"
            for option, value in chosen.items()]


def preload(task: str | None = None) -> float:
    """Import what the pages import and build the cached workspace of ``task`` (default: every
    task the pages offer) with the LPIPS-style metric of Compare's classifier; for the first
    task also the record tables of the default classifier pair (when shipped), the Boundaries
    page's opening view (its maps and boundary distances, when those tables are shipped, for
    every classifier) and the hover images of the Features page's opening t-SNE; seconds
    taken.

    A missing dataset or checkpoint is not an error here: the pages say what to run.
    """
    t0 = time.perf_counter()
    import matplotlib
    import pandas  # noqa: F401
    import piq  # noqa: F401
    import plotly.graph_objects  # noqa: F401

    # Outside a session Streamlit warns that there is no script context; that is expected here.
    # (Streamlit sets a logger's level when it creates it: import the modules first.)
    import streamlit.runtime.caching.cache_data_api  # noqa: F401
    import streamlit.runtime.scriptrunner_utils.script_run_context  # noqa: F401

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401  (Compare's colour bars; about 0.5 s on first use)

    import analysis.analyses.boundary_maps  # noqa: F401
    import analysis.analyses.boundary_search  # noqa: F401
    import analysis.analyses.features  # noqa: F401
    import analysis.reporting.figures  # noqa: F401
    from analysis.errors import RAExplorerError
    from analysis.explore.encoders import colour_bar_png
    from analysis.explore.workspace import available_tasks

    colour_bar_png(1.0, "warm-up")          # matplotlib's font cache and Agg canvas

    quiet = [logging.getLogger(n) for n in ("streamlit.runtime.caching.cache_data_api",
                                            "streamlit.runtime.scriptrunner_utils.script_run_context")]
    levels = [q.level for q in quiet]
    for q in quiet:
        q.setLevel(logging.ERROR)
    from app.components.common import dataset, folder, workspace

    try:
        tasks = [task] if task else available_tasks(dataset(), folder())
        for i, name in enumerate(tasks):
            # as get_workspace calls it: the same arguments, or the pages miss this cache entry
            ws = workspace(name, dataset(), folder(), ())
            source = ws.default_pair()[:1]            # Compare's classifier: its LPIPS metric
            for clf in source:
                ws.metric(f"lpips-{clf}")
            if i:
                continue                              # the other tasks: models and metric only
            shipped = ws.shipped_classifiers()
            for clf in ws.default_pair():            # the record table, if shipped (Gallery,
                if shipped and clf in shipped:        # Boundaries' pickers): never measured here
                    ws.record_table(clf)
            if opens_on_shipped_tables(ws):
                from app.components.boundary_cache import warm_default_view

                warm_default_view(ws)                 # Boundaries' opening maps and distances
                # and every other classifier's at that image (adding one is a cache hit):
                # before the server starts, since drawn behind a first visitor's page they
                # slowed its first view by 0.4-0.6 s (benchmarks/bench_first_view.py)
                warm_default_view(ws, others=True)
            from app.components.tsne_cache import warm_opening_view

            warm_opening_view(name)                   # Features' hover images
    except RAExplorerError:
        pass  # missing data or checkpoints: the pages say what to run
    except Exception as exc:  # noqa: BLE001 — a speed-up must never keep the app from starting
        print(f"RA Explorer: preload skipped ({type(exc).__name__}: {exc})", flush=True)
    finally:
        for q, level in zip(quiet, levels):
            q.setLevel(level)
    return time.perf_counter() - t0


def demo_study() -> str:
    """Make the survey's demo study on a first start (a database without any study), so the
    Survey pages work out of the box; a sentence saying what happened."""
    try:
        from analysis.survey.db import make_engine, session_factory
        from analysis.survey.demo import DEMO_NAME, ensure_demo
        from app.components.common import dataset, folder

        t0 = time.perf_counter()
        with session_factory(make_engine())() as session:
            made = ensure_demo(session, dataset=dataset(), checkpoints=folder())
        return (f"made the survey demo study {DEMO_NAME!r} in {time.perf_counter() - t0:.1f} s"
                if made else "survey studies found, no demo study made")
    except Exception as exc:  # noqa: BLE001 — the demo must never keep the app from starting
        return f"no survey demo study ({type(exc).__name__}: {exc})"


def opens_on_shipped_tables(ws) -> bool:
    """Whether Boundaries' opening view rests on shipped record tables (its picker then costs
    nothing to warm; without them the launcher measures no table)."""
    return set(ws.default_pair()) <= set(ws.shipped_classifiers() or [])


def main(argv: list[str] | None = None) -> int:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from analysis.device import retain_freed_memory

    retain_freed_memory()
    if os.environ.get("RA_PRELOAD", "1") != "0":
        print(f"RA Explorer: preloaded libraries and models in {preload():.1f} s", flush=True)
    if os.environ.get("RA_SURVEY_DEMO", "1") != "0":
        print(f"RA Explorer: {demo_study()}", flush=True)
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(MAIN), *(sys.argv[1:] if argv is None else argv)]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())

"""The ``app`` verb: start the Streamlit app as ``scripts/main.sh`` does.

The same launcher (:mod:`app.launch`: ``streamlit run app/main.py`` at once, the warm-up and
the survey demo study behind it) with the settings of ``app/streamlit_config.toml`` passed as
``streamlit run`` options, so that an installed copy runs from any directory; ``--port`` and ``--address`` win
over the file and over ``STREAMLIT_SERVER_PORT`` / ``STREAMLIT_SERVER_ADDRESS``. The data
folders are those of :mod:`analysis.config` (a checkout's own, else $RA_HOME or the current
directory).
"""

from __future__ import annotations

from app import launch

from .validators import port_number


def cmd_app(args) -> int:
    return launch.main(launch.streamlit_options(port=args.port, address=args.address))


def register(sub) -> None:
    settings = launch.streamlit_settings()
    p = sub.add_parser("app", help="start the Streamlit app in the browser (as scripts/main.sh does)",
                       description="Start the RA Explorer app and serve it until interrupted "
                                   "(Ctrl-C); the models load behind the server "
                                   "(RA_PRELOAD=0 skips that warm-up).")
    p.add_argument("--port", type=port_number, default=None,
                   help="TCP port of the server (default: $STREAMLIT_SERVER_PORT, else "
                        f"{settings['server.port']} from app/streamlit_config.toml)")
    p.add_argument("--address", default=None,
                   help="address the server listens on (default: $STREAMLIT_SERVER_ADDRESS, "
                        f"else {settings['server.address']} from app/streamlit_config.toml; "
                        "0.0.0.0 for every interface)")
    p.set_defaults(func=cmd_app)

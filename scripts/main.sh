#!/usr/bin/env bash
# The main job on the embedded default (Fashion-MNIST and the checked-in zoo): the RA Explorer
# app in the browser, with the settings of app/streamlit_config.toml (port 8501 on 127.0.0.1;
# STREAMLIT_SERVER_PORT / STREAMLIT_SERVER_ADDRESS override them). Extra arguments go to
# 'streamlit run'. The launcher (app/launch.py) starts the server at once and loads the
# libraries, the models and the opening views behind it (RA_PRELOAD=0 skips that).
source "$(dirname "$0")/bootstrap.sh"
if [ "${FMNIST_MISSING:-0}" = 1 ]; then exit 1; fi
mkdir -p .streamlit
cp app/streamlit_config.toml .streamlit/config.toml
exec .venv/bin/python -m app.launch "$@"

"""The ``app`` verb: the launcher with app/streamlit_config.toml's settings as options; --port and
--address documented with their defaults and checked where parsed."""

import pytest

from analysis.cli import app as app_verb
from analysis.cli.main import build_parser, main


def test_app_verb_starts_the_launcher_with_the_settings(monkeypatch):
    seen = []
    monkeypatch.setattr(app_verb.launch, "main", lambda argv: seen.append(argv) or 0)
    monkeypatch.delenv("STREAMLIT_SERVER_PORT", raising=False)
    assert main(["app", "--port", "8765", "--address", "0.0.0.0"]) == 0
    (argv,) = seen
    assert "--server.port=8765" in argv and "--server.address=0.0.0.0" in argv
    assert "--server.headless=true" in argv


def test_app_verb_help_states_defaults_and_refuses_a_bad_port(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["app", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "else 8501 from app/streamlit_config.toml" in text
    assert "else 127.0.0.1 from app/streamlit_config.toml" in text
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["app", "--port", "70000"])
    assert exit_.value.code == 2 and "from 1 to 65535" in capsys.readouterr().err


def test_version_flag(capsys):
    from analysis import __version__

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"ra-explorer {__version__}"

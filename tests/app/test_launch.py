"""app/launch.py's Streamlit settings: app/streamlit_config.toml as ``streamlit run`` options, with
the environment and the ``app`` verb's --port / --address winning as documented."""

from streamlit import config as st_config

from app.launch import settings_variable, streamlit_options, streamlit_settings


def test_every_setting_is_a_streamlit_option_with_the_variable_streamlit_reads():
    settings = streamlit_settings()
    assert settings["server.port"] == 8501 and settings["server.address"] == "127.0.0.1"
    options = st_config.get_config_options()
    for name in settings:
        assert name in options, name
        assert options[name].env_var == settings_variable(name)


def test_options_apply_the_file_the_environment_and_the_arguments_in_that_order(monkeypatch):
    for name in streamlit_settings():
        monkeypatch.delenv(settings_variable(name), raising=False)
    plain = streamlit_options()
    assert "--server.port=8501" in plain and "--server.headless=true" in plain
    assert "--runner.postScriptGC=false" in plain and "--theme.font=sans serif" in plain
    assert len(plain) == len(streamlit_settings())
    monkeypatch.setenv("STREAMLIT_SERVER_PORT", "9001")      # the environment wins over the file
    assert not any(o.startswith("--server.port=") for o in streamlit_options())
    chosen = streamlit_options(port=9002, address="0.0.0.0")  # the arguments win over both
    assert "--server.port=9002" in chosen and "--server.address=0.0.0.0" in chosen
    assert "--server.address=127.0.0.1" not in chosen

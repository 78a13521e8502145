"""The command line, ``python -m analysis <verb>``: one module per verb group (see ``main``)."""

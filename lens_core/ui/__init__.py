"""The Streamlit side of ExperimentLens, and the only package that imports streamlit.

- :mod:`~lens_core.ui.cache`: the ``st.cache_data`` / ``st.cache_resource`` wrappers around library calls, nothing
  else;
- :mod:`~lens_core.ui.shell`: what every page is built on — login, the page guard, the configured tracker, reads
  with last good data and their notices, the experiment and run pickers, the sidebar header, page paths and the
  session-state keys pages share;
- :mod:`~lens_core.ui.settings`: the configuration (environment, ``.streamlit/secrets.toml``) both read;
- :mod:`~lens_core.ui.explorer`: the data explorer's component.

Everything a page shows is computed outside this package, in the rest of :mod:`lens_core`.
"""

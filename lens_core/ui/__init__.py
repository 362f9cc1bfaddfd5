"""The Streamlit side of ExperimentLens: the only package that imports streamlit (caches, the page shell, the explorer component)."""

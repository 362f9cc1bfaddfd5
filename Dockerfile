# ExperimentLens as a team portal. Build: docker build -t experimentlens .
# Run:   docker run -p 8501:8501 -e MLFLOW_TRACKING_URI=http://mlflow:5000 -v lens-cache:/cache experimentlens
# Several replicas may share the /cache volume (see the README's "Several replicas").
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LENS_CACHE_DIR=/cache MLFLOW_DISABLE_TELEMETRY=true
WORKDIR /app
COPY requirements.txt pyproject.toml README.md ./
COPY lens_core ./lens_core
RUN pip install -r requirements.txt -e . \
    && useradd --create-home --uid 10001 lens && mkdir -p /cache && chown lens /cache
COPY Home.py ./
COPY pages ./pages
COPY .streamlit/config.toml ./.streamlit/config.toml
USER lens
VOLUME /cache
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"
CMD ["streamlit", "run", "Home.py", "--server.address=0.0.0.0", "--server.port=8501", "--server.headless=true", \
     "--browser.gatherUsageStats=false"]

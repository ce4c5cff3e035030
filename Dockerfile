# The project's Airflow image: the official Airflow 3 image plus requirements.txt and the code.
#
# Built by `docker compose build` (docker-compose.yaml). The compose file also mounts dags/,
# plugins/, include/ and config/ over the copies baked in here, so edits on the host take
# effect without a rebuild; the baked copies are what a second machine (or a Kubernetes pod)
# runs when it only has the image. Python 3.11 is the version the pins were tested with.
ARG AIRFLOW_IMAGE=apache/airflow:3.3.2-python3.11
FROM ${AIRFLOW_IMAGE}

# Pin Airflow to the image's own version while installing the project's pins, as the
# Airflow docs recommend (https://airflow.apache.org/docs/docker-stack/build.html); never
# _PIP_ADDITIONAL_REQUIREMENTS, which reinstalls on every container start.
COPY --chown=airflow:0 requirements.txt /opt/airflow/requirements.txt
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /opt/airflow/requirements.txt

COPY --chown=airflow:0 pyproject.toml README.md /opt/airflow/
COPY --chown=airflow:0 include /opt/airflow/include
COPY --chown=airflow:0 dags /opt/airflow/dags
COPY --chown=airflow:0 plugins /opt/airflow/plugins
COPY --chown=airflow:0 config /opt/airflow/config
# `infra-review` on PATH; editable, so the mounted include/ is the code that runs.
RUN pip install --no-cache-dir --no-deps -e /opt/airflow \
    && mkdir -p /opt/airflow/data

ENV PYTHONPATH=/opt/airflow/include \
    INFRA_REVIEW_HOME=/opt/airflow \
    INFRA_REVIEW_DATA_DIR=/opt/airflow/data \
    GX_ANALYTICS_ENABLED=false

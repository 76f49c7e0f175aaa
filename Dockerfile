# rollcheck in a container: `rollcheck run` as a Kubernetes Job, or `rollcheck serve` as a Deployment
# (manifests in deploy/, explained in the README's "Running in the cluster").
#
#   docker build -t registry.example.com/rollcheck:0.1.0 .
#
# Deployment, StatefulSet and DaemonSet targets need nothing but this image: rollcheck talks to the API server
# itself, so there is no kubectl in it. Helm targets (helm/RELEASE) run the helm binary; to add it, put these
# lines before `USER` (pick the release you deploy with):
#
#   ARG HELM_VERSION=v3.19.5
#   ADD https://get.helm.sh/helm-${HELM_VERSION}-linux-amd64.tar.gz /tmp/helm.tar.gz
#   RUN tar -xzf /tmp/helm.tar.gz -C /usr/local/bin --strip-components=1 linux-amd64/helm && rm /tmp/helm.tar.gz
#
# and give the service account what helm needs (its release Secrets), which deploy/rbac.yaml does not.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Only what the package is built from (.dockerignore allows nothing else into the context).
COPY pyproject.toml README.md /src/
COPY rollcheck /src/rollcheck
COPY plugins /src/plugins
COPY checks /src/checks
RUN pip install /src && rm -rf /src

# A fixed numeric user, so `runAsNonRoot` can verify it; /work is where reports go (a volume in deploy/).
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /work --shell /usr/sbin/nologin rollcheck \
    && mkdir /work && chown rollcheck:rollcheck /work
USER 10001:10001
WORKDIR /work

ENTRYPOINT ["rollcheck"]
CMD ["--help"]

# The gateway and its mocks in one image; compose.yaml runs it beside RabbitMQ and PostgreSQL.
FROM python:3.11-slim-bookworm

# xmlsec (XML signatures on the e-government bus) builds against libxmlsec1.
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc pkg-config libxml2-dev libxmlsec1-dev \
      libxmlsec1-openssl libffi-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY contracts ./contracts
COPY adapters ./adapters
COPY gateway ./gateway
COPY mocks ./mocks
COPY bench ./bench
RUN pip install --no-cache-dir .

ENV GATEWAY_API_HOST=0.0.0.0 \
    PYTHONUNBUFFERED=1
EXPOSE 8080
CMD ["gateway", "up"]

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY application ./application
COPY infrastructure ./infrastructure
COPY api ./api
RUN pip install . && useradd --system --home /app --shell /usr/sbin/nologin khenthuong
USER khenthuong

ENV KHENTHUONG_DATA_DIR=/app/data \
    KHENTHUONG_LOG_FORMAT=json
ENTRYPOINT ["khenthuong"]
EXPOSE 8000
CMD ["serve", "--demo", "--host", "0.0.0.0", "--port", "8000"]

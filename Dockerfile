# The web app and its workers: one image, different commands (see compose.yaml).
FROM python:3.12-slim
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN DJANGO_DEBUG=0 DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput
RUN useradd --create-home mge && mkdir -p /app/var && chown mge /app/var
USER mge
EXPOSE 8000

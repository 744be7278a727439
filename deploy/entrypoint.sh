#!/bin/sh
# One image (or checkout), several roles; docker-compose.yml and the Procfile both start processes here.
#
#   release            check the settings (`check --deploy`: any warning stops the deploy), migrate
#                      the database and collect static files (once per deploy)
#   web                gunicorn with deploy/gunicorn.conf.py
#   execution-worker   the execution queue: one worker process whose sandbox has a slot per core
#                      (EXECUTION_WORKERS, default: every core it may use)
#   generation-worker  the generation queue: one process and one model per GPU (CUDA_VISIBLE_DEVICES)
#   beat               the schedule of the periodic sweep of stuck runs: exactly one per deployment
#   anything else      run as given (e.g. `python manage.py createsuperuser`)
#
# Every process started here is production (DJANGO_ENV=production, whatever the environment says):
# the settings refuse to load without a SECRET_KEY of the deployment's own, and a role says so in
# one line and stops instead of starting with the public development key.
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"
LEVEL="${LOG_LEVEL:-INFO}"
NAME="${WORKER_NAME:-}"
export DJANGO_ENV=production

role="${1:-web}"
[ "$#" -gt 0 ] && shift
case "$role" in
  release|web|execution-worker|generation-worker|beat)
    if ! problem=$("$PYTHON" -c "import leaderboard.settings" 2>&1); then
      echo "deploy/entrypoint.sh $role: refusing to start: $(printf '%s\n' "$problem" | tail -n 1)" >&2
      exit 78
    fi
    ;;
esac
case "$role" in
  release)
    "$PYTHON" manage.py check --deploy --fail-level WARNING
    "$PYTHON" manage.py migrate --noinput
    exec "$PYTHON" manage.py collectstatic --noinput
    ;;
  web)
    exec "$PYTHON" -m gunicorn -c deploy/gunicorn.conf.py leaderboard.wsgi:application "$@"
    ;;
  execution-worker)
    exec "$PYTHON" -m celery -A leaderboard worker -Q execution -c 1 --prefetch-multiplier 1 \
      -n "${NAME:-execution}@%h" -l "$LEVEL" "$@"
    ;;
  generation-worker)
    exec "$PYTHON" -m celery -A leaderboard worker -Q generation -c 1 --prefetch-multiplier 1 \
      -n "${NAME:-generation-gpu${CUDA_VISIBLE_DEVICES:-0}}@%h" -l "$LEVEL" "$@"
    ;;
  beat)
    exec "$PYTHON" -m celery -A leaderboard beat -l "$LEVEL" \
      -s "${BEAT_SCHEDULE_FILE:-${VAR_DIR:-var}/celerybeat-schedule}" "$@"
    ;;
  *)
    exec "$role" "$@"
    ;;
esac

#!/bin/sh
# Runs the image's process. With no arguments: the command the image was built for
# ($CCHC_COMMAND, e.g. "python -m cchc_plans" or "cchc migrate"); with arguments: those.
# `exec` leaves the Python process as PID 1, so SIGTERM reaches uvicorn directly.
set -eu
if [ "$#" -eq 0 ]; then
    if [ -z "${CCHC_COMMAND:-}" ]; then
        echo "entrypoint: no command given and CCHC_COMMAND is empty" >&2
        exit 64
    fi
    # CCHC_COMMAND is a plain word list, split on spaces on purpose.
    # shellcheck disable=SC2086
    set -- ${CCHC_COMMAND}
fi
exec "$@"

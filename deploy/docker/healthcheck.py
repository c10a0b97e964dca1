#!/app/.venv/bin/python
"""Container health check: GET http://127.0.0.1:$CCHC_PORT/healthz answers 200 within 2 s.

Standard library only, so the runtime image needs no curl or wget.
"""

import os
import sys
import urllib.request

PATH = os.environ.get("CCHC_HEALTHCHECK_PATH", "/healthz")


def main() -> int:
    url = f"http://127.0.0.1:{os.environ.get('CCHC_PORT', '8080')}{PATH}"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"healthcheck: {url}: {exc}", file=sys.stderr)  # noqa: T201
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""``python -m cchc_simulator``: serve the simulated one-stop system on CCHC_HOST:CCHC_PORT.

The socket is bound first (so the port is ours while the history is built) and announced once
the history is ready, as one JSON line on stdout: a launcher asking for port 0 learns the port
it got, and that the simulator is ready.
"""

from __future__ import annotations

import gc
import json
import logging
import socket
import sys

import uvicorn

from cchc_simulator.app import create_app
from cchc_simulator.settings import SimulatorServerSettings


def main() -> None:
    settings = SimulatorServerSettings()
    logging.basicConfig(level=settings.log_level, stream=sys.stderr)
    listener = socket.create_server((settings.host, settings.port), reuse_port=False)
    host, port = listener.getsockname()[:2]
    app = create_app(settings)
    # The history lives as long as the process: keep it out of every collection. Serving keeps a
    # cache of tens of thousands of live dossiers; with the default thresholds the collector
    # rescans it every few pages (a quarter of a page's time, measured), so collect less often.
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    print(json.dumps({"event": "listening", "url": f"http://{host}:{port}"}), flush=True)  # noqa: T201
    config = uvicorn.Config(app, log_level=settings.log_level.lower(), access_log=False)
    uvicorn.Server(config).run(sockets=[listener])


if __name__ == "__main__":
    main()

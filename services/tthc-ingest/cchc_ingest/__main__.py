from cchc_ingest.main import create_app
from cchc_shared.server import serve
from cchc_shared.settings import IngestSettings

settings = IngestSettings()
serve(lambda: create_app(settings), settings)

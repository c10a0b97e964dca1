from cchc_shared.server import serve
from cchc_shared.settings import IngestSettings
from cchc_ingest.main import create_app

settings = IngestSettings()
serve(lambda: create_app(settings), settings)

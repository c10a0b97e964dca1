from cchc_gateway.main import create_app
from cchc_shared.server import serve
from cchc_shared.settings import GatewaySettings

settings = GatewaySettings()
serve(lambda: create_app(settings), settings)

from cchc_indicators.main import create_app
from cchc_shared.server import serve
from cchc_shared.settings import IndicatorsSettings

settings = IndicatorsSettings()
serve(lambda: create_app(settings), settings)
